#include "progress_text.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace webrtccall::cli {

namespace {

const char *codec_of(const char *media_type) {
  static const struct {
    const char *media_type, *codec;
  } codecs[] = {
      {"video/x-vp8", "VP8"},   {"video/x-vp9", "VP9"},    {"video/x-h264", "H.264"},
      {"audio/x-opus", "Opus"}, {"audio/x-mulaw", "PCMU"}, {"audio/x-alaw", "PCMA"},
  };
  for (const auto &each : codecs)
    if (std::strcmp(each.media_type, media_type) == 0)
      return each.codec;
  return media_type;
}

std::string kbits(guint64 bits_per_second) {
  return std::to_string((bits_per_second + 500) / 1000) + " kbit/s";
}

} // namespace

std::string state_line(const std::string &state, const std::string &peer, const std::string &reason,
                       const std::string &user, const std::string &server) {
  if (reason == "server-lost")
    return state == "in-call" ? "Lost the signaling server; the call goes on."
                              : "Lost the signaling server; reconnecting...";
  if (reason == "reconnected")
    return "Reconnected to the signaling server.";
  if (state == "connecting")
    return "Connecting to " + server + " as " + user + "...";
  if (state == "logged-in") {
    if (reason.empty())
      return "Logged in as " + user + ".";
    if (reason == "rejected")
      return "Declined the call from " + peer + ".";
    if (reason == "cancelled")
      return peer + " hung up before you answered.";
    if (reason == "no-answer")
      return "Missed a call from " + peer + ".";
    return {};
  }
  if (state == "calling")
    return "Calling " + peer + "...";
  if (state == "ringing")
    return "Incoming call from " + peer + ".";
  if (state == "in-call")
    return "In call with " + peer + ".";
  return {}; // idle; ended is said with the call's length (Endpoint)
}

std::string end_reason_text(const std::string &reason, const std::string &peer) {
  if (reason == "hangup")
    return "you hung up";
  if (reason == "remote-hangup")
    return peer + " hung up";
  if (reason == "peer-gone")
    return peer + " went offline";
  if (reason == "media-timeout")
    return "nothing came from " + peer + " for a while (media timeout)";
  if (reason == "ice-failed")
    return "the network path to " + peer + " failed";
  return reason.empty() ? "the call ended" : reason;
}

std::string stats_line(const GstStructure *stats, gint64 seconds) {
  guint64 tx = 0, rx = 0;
  gint64 tx_lost = 0, rx_lost = 0;
  double rtt = -1;
  gst_structure_get_uint64(stats, "tx-bitrate", &tx);
  gst_structure_get_uint64(stats, "rx-bitrate", &rx);
  gst_structure_get_int64(stats, "tx-packets-lost", &tx_lost);
  gst_structure_get_int64(stats, "rx-packets-lost", &rx_lost);
  gst_structure_get_double(stats, "round-trip-time", &rtt);
  // RTCP's cumulative loss (expected minus received) goes below zero when
  // more arrive than expected, e.g. duplicates; a loss-free loopback call
  // reports -1 out. Below zero means nothing was lost.
  tx_lost = std::max<gint64>(tx_lost, 0);
  rx_lost = std::max<gint64>(rx_lost, 0);
  char round_trip[32] = "--";
  if (rtt >= 0)
    std::snprintf(round_trip, sizeof round_trip, "%.1f ms", rtt * 1000);
  return "[" + duration_text(seconds) + "] out " + kbits(tx) + ", in " + kbits(rx) + ", lost " +
         std::to_string(tx_lost) + " out, " + std::to_string(rx_lost) + " in, round trip " +
         round_trip;
}

std::string format_text(const GstCaps *caps) {
  if (!caps || gst_caps_is_empty(caps) || gst_caps_is_any(caps))
    return "an unknown format";
  const GstStructure *s = gst_caps_get_structure(caps, 0);
  std::string text = codec_of(gst_structure_get_name(s));
  int width = 0, height = 0, rate = 0, channels = 0;
  if (gst_structure_get_int(s, "width", &width) && gst_structure_get_int(s, "height", &height))
    text += " " + std::to_string(width) + "x" + std::to_string(height);
  if (gst_structure_get_int(s, "rate", &rate))
    text += " " + std::to_string(rate) + " Hz";
  if (gst_structure_get_int(s, "channels", &channels))
    text += ", " + std::to_string(channels) + (channels == 1 ? " channel" : " channels");
  return text;
}

std::string in_option_terms(const std::string &message) {
  // (?<![-\w]): not already an option, nor part of a longer name.
  static const struct {
    const char *pattern, *replacement;
  } terms[] = {
      {"the server property", "--server"},
      {"the token property", "--token"},
      {"tls-insecure=true", "--tls-insecure"},
      {"(?<![-\\w])call-timeout\\b", "--timeout"},
      {"(?<![-\\w])(tls-ca-file|stun-server|turn-server)\\b", "--\\1"},
  };
  std::string text = message;
  for (const auto &term : terms) {
    g_autoptr(GRegex) regex =
        g_regex_new(term.pattern, GRegexCompileFlags(0), GRegexMatchFlags(0), nullptr);
    g_autofree char *replaced =
        g_regex_replace(regex, text.c_str(), -1, 0, term.replacement, GRegexMatchFlags(0), nullptr);
    if (replaced)
      text = replaced;
  }
  return text;
}

std::string duration_text(gint64 seconds) {
  char text[32];
  if (seconds >= 3600)
    std::snprintf(text, sizeof text, "%d:%02d:%02d", int(seconds / 3600), int(seconds / 60 % 60),
                  int(seconds % 60));
  else
    std::snprintf(text, sizeof text, "%02d:%02d", int(seconds / 60), int(seconds % 60));
  return text;
}

} // namespace webrtccall::cli
