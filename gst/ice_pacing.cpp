#include "ice_pacing.hpp"

#include <cerrno>
#include <cstdlib>
#include <string>

namespace webrtccall {

namespace {

constexpr const char *kAttribute = "ice-pacing";

// webrtcbin's libnice agent if it can be paced, with a reference, or nullptr.
GObject *pacing_agent_of(GstElement *webrtcbin) {
  GObject *agent = nice_agent_of(webrtcbin);
  if (agent && !g_object_class_find_property(G_OBJECT_GET_CLASS(agent), "stun-pacing-timer"))
    g_clear_object(&agent);
  return agent;
}

} // namespace

GObject *nice_agent_of(GstElement *webrtcbin) {
  // webrtcbin 1.22 keeps its ICE object as a floating reference: a plain ref
  // from g_object_get, never sunk (webrtcbin-notes.md).
  GObject *ice = nullptr;
  g_object_get(webrtcbin, "ice-agent", &ice, nullptr);
  if (!ice)
    return nullptr;
  GObject *agent = nullptr;
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "agent"))
    g_object_get(ice, "agent", &agent, nullptr);
  g_object_unref(ice);
  return agent;
}

void propose_ice_pacing(GstSDPMessage *description, guint ms) {
  for (guint i = gst_sdp_message_attributes_len(description); i > 0; i--)
    if (g_strcmp0(gst_sdp_message_get_attribute(description, i - 1)->key, kAttribute) == 0)
      gst_sdp_message_remove_attribute(description, i - 1);
  gst_sdp_message_add_attribute(description, kAttribute, std::to_string(ms).c_str());
}

guint proposed_ice_pacing(const GstSDPMessage *description) {
  const char *value = gst_sdp_message_get_attribute_val(description, kAttribute);
  if (!value || !g_ascii_isdigit(*value))
    return 0;
  char *end = nullptr;
  errno = 0;
  unsigned long ms = std::strtoul(value, &end, 10);
  if (errno || *end || ms < kMinIcePacingMs || ms > kMaxIcePacingMs)
    return 0;
  return guint(ms);
}

bool set_ice_pacing(GstElement *webrtcbin, guint ms) {
  GObject *agent = pacing_agent_of(webrtcbin);
  if (!agent)
    return false;
  g_object_set(agent, "stun-pacing-timer", ms, nullptr);
  g_object_unref(agent);
  return true;
}

guint ice_pacing_of(GstElement *webrtcbin) {
  GObject *agent = pacing_agent_of(webrtcbin);
  if (!agent)
    return 0;
  guint ms = 0;
  g_object_get(agent, "stun-pacing-timer", &ms, nullptr);
  g_object_unref(agent);
  return ms;
}

} // namespace webrtccall
