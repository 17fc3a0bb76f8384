#include "sdp_edits.hpp"

#include <glib.h>

#include <algorithm>
#include <string>

namespace webrtccall {

namespace {

// What a rejected m-line keeps: its mid, and the transport lines that
// webrtcbin 1.22 checks on every m-line, rejected or not (validate_sdp in
// webrtcsdp.c); a browser ignores them on a port-0 m-line.
bool kept(const char *key) {
  for (const char *name : {"mid", "ice-ufrag", "ice-pwd", "fingerprint", "setup"})
    if (g_strcmp0(key, name) == 0)
      return true;
  return false;
}

bool is_direction(const char *key) {
  for (const char *direction : {"sendrecv", "sendonly", "recvonly", "inactive"})
    if (g_strcmp0(key, direction) == 0)
      return true;
  return false;
}

// Media stays negotiated but flows neither way.
void make_inactive(GstSDPMedia *media) {
  for (guint i = gst_sdp_media_attributes_len(media); i-- > 0;)
    if (is_direction(gst_sdp_media_get_attribute(media, i)->key))
      gst_sdp_media_remove_attribute(media, i);
  // An empty value, not none: gst_sdp_media_attributes_to_caps reads it.
  gst_sdp_media_add_attribute(media, "inactive", "");
}

// Strips a rejected m-line down to what identifies it: one format, with its
// rtpmap so that webrtcbin need not log an error over a format it cannot map.
void strip(GstSDPMedia *media) {
  gst_sdp_media_set_port_info(media, 0, 0);
  while (gst_sdp_media_formats_len(media) > 1)
    gst_sdp_media_remove_format(media, gst_sdp_media_formats_len(media) - 1);
  std::string format_prefix = std::string(gst_sdp_media_get_format(media, 0)) + " ";
  for (guint i = gst_sdp_media_attributes_len(media); i-- > 0;) {
    const GstSDPAttribute *attribute = gst_sdp_media_get_attribute(media, i);
    bool its_rtpmap = g_strcmp0(attribute->key, "rtpmap") == 0 && attribute->value &&
                      g_str_has_prefix(attribute->value, format_prefix.c_str());
    if (!kept(attribute->key) && !its_rtpmap)
      gst_sdp_media_remove_attribute(media, i);
  }
  while (gst_sdp_media_bandwidths_len(media) > 0)
    gst_sdp_media_remove_bandwidth(media, 0);
  make_inactive(media);
}

// The mid that tags the offer's BUNDLE group (its first), or "".
std::string bundle_tag(const GstSDPMessage *offer) {
  const char *group = gst_sdp_message_get_attribute_val(offer, "group");
  if (!group || !g_str_has_prefix(group, "BUNDLE "))
    return {};
  g_auto(GStrv) tokens = g_strsplit(group + 7, " ", 2);
  return tokens[0] ? tokens[0] : "";
}

// "BUNDLE 0 1 2" without the rejected mids; the group goes when it is empty.
void leave_bundle(GstSDPMessage *answer, const std::vector<std::string> &mids) {
  for (guint i = 0; i < gst_sdp_message_attributes_len(answer); i++) {
    const GstSDPAttribute *attribute = gst_sdp_message_get_attribute(answer, i);
    if (g_strcmp0(attribute->key, "group") != 0 || !attribute->value ||
        !g_str_has_prefix(attribute->value, "BUNDLE"))
      continue;
    g_auto(GStrv) tokens = g_strsplit(attribute->value, " ", -1);
    std::string group = "BUNDLE";
    guint kept = 0;
    for (char **token = tokens + 1; *token; token++) {
      if (**token == '\0' || std::find(mids.begin(), mids.end(), *token) != mids.end())
        continue;
      group += std::string(" ") + *token;
      kept++;
    }
    if (kept == 0) {
      gst_sdp_message_remove_attribute(answer, i);
    } else {
      GstSDPAttribute replacement;
      gst_sdp_attribute_set(&replacement, "group", group.c_str());
      gst_sdp_message_replace_attribute(answer, i, &replacement);
    }
    return;
  }
}

} // namespace

void reject_mlines(GstSDPMessage *answer, const GstSDPMessage *offer,
                   const std::vector<guint> &indices) {
  std::string tag = bundle_tag(offer);
  std::vector<std::string> mids;
  for (guint index : indices) {
    if (index >= gst_sdp_message_medias_len(answer))
      continue;
    // The message owns its media; GstSDPMessage has no setter for one, and
    // editing in place is how webrtcbin itself does it.
    auto *media = const_cast<GstSDPMedia *>(gst_sdp_message_get_media(answer, index));
    const char *mid = gst_sdp_media_get_attribute_val(media, "mid");
    if (mid && mid == tag) {
      // A data channel there is left as webrtcbin answered it: open, unused.
      if (g_strcmp0(gst_sdp_media_get_media(media), "application") != 0)
        make_inactive(media);
      continue;
    }
    if (mid)
      mids.push_back(mid);
    strip(media);
  }
  if (!mids.empty())
    leave_bundle(answer, mids);
}

bool unify_bundle_credentials(GstSDPMessage *remote) {
  const char *group = gst_sdp_message_get_attribute_val(remote, "group");
  if (!group || !g_str_has_prefix(group, "BUNDLE "))
    return false;
  g_auto(GStrv) mids = g_strsplit(group + 7, " ", -1);
  std::string ufrag, pwd;
  bool changed = false;
  for (guint i = 0; i < gst_sdp_message_medias_len(remote); i++) {
    auto *media = const_cast<GstSDPMedia *>(gst_sdp_message_get_media(remote, i));
    const char *mid = gst_sdp_media_get_attribute_val(media, "mid");
    if (!mid || !g_strv_contains(mids, mid))
      continue;
    const char *media_ufrag = gst_sdp_media_get_attribute_val(media, "ice-ufrag");
    const char *media_pwd = gst_sdp_media_get_attribute_val(media, "ice-pwd");
    if (ufrag.empty()) {
      // Session-level credentials need no help: they are the same for all.
      if (!media_ufrag || !media_pwd)
        return false;
      ufrag = media_ufrag;
      pwd = media_pwd;
      continue;
    }
    for (guint a = 0; a < gst_sdp_media_attributes_len(media); a++) {
      const GstSDPAttribute *attribute = gst_sdp_media_get_attribute(media, a);
      const std::string *wanted = g_strcmp0(attribute->key, "ice-ufrag") == 0 ? &ufrag
                                  : g_strcmp0(attribute->key, "ice-pwd") == 0 ? &pwd
                                                                              : nullptr;
      if (!wanted || *wanted == (attribute->value ? attribute->value : ""))
        continue;
      GstSDPAttribute replacement;
      gst_sdp_attribute_set(&replacement, attribute->key, wanted->c_str());
      gst_sdp_media_replace_attribute(media, a, &replacement);
      changed = true;
    }
  }
  return changed;
}

} // namespace webrtccall
