#include "call_stats.hpp"

#include <gst/webrtc/webrtc.h>

#include <algorithm>
#include <string>

namespace webrtccall {

namespace {

struct Sums {
  guint64 bytes_sent = 0, bytes_received = 0;
  gint64 rx_lost = 0, tx_lost = 0;
  double rx_jitter = 0, tx_jitter = 0, rtt = -1;
};

// One entry of the reply: an RTP stream's statistics, by type.
gboolean add_entry(GQuark, const GValue *value, gpointer data) {
  auto *sums = static_cast<Sums *>(data);
  if (!GST_VALUE_HOLDS_STRUCTURE(value))
    return TRUE;
  const GstStructure *s = gst_value_get_structure(value);
  GstWebRTCStatsType type;
  if (!gst_structure_get(s, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, nullptr))
    return TRUE;
  guint64 u64 = 0;
  gint64 i64 = 0;
  double d = 0;
  switch (type) {
  case GST_WEBRTC_STATS_OUTBOUND_RTP:
    if (gst_structure_get_uint64(s, "bytes-sent", &u64))
      sums->bytes_sent += u64;
    break;
  case GST_WEBRTC_STATS_INBOUND_RTP:
    if (gst_structure_get_uint64(s, "bytes-received", &u64))
      sums->bytes_received += u64;
    if (gst_structure_get_int64(s, "packets-lost", &i64))
      sums->rx_lost += i64;
    if (gst_structure_get_double(s, "jitter", &d))
      sums->rx_jitter = std::max(sums->rx_jitter, d);
    break;
  case GST_WEBRTC_STATS_REMOTE_INBOUND_RTP: // what the peer reports of our streams
    if (gst_structure_get_int64(s, "packets-lost", &i64))
      sums->tx_lost += i64;
    if (gst_structure_get_double(s, "jitter", &d))
      sums->tx_jitter = std::max(sums->tx_jitter, d);
    if (gst_structure_get_double(s, "round-trip-time", &d))
      sums->rtt = std::max(sums->rtt, d);
    break;
  default:
    break;
  }
  return TRUE;
}

// The selected candidate pair's entry (webrtcbin lists only that one), or nullptr.
const GstStructure *selected_pair(const GstStructure *webrtc_stats) {
  for (int i = 0; i < gst_structure_n_fields(webrtc_stats); i++) {
    const GValue *value =
        gst_structure_get_value(webrtc_stats, gst_structure_nth_field_name(webrtc_stats, i));
    if (!GST_VALUE_HOLDS_STRUCTURE(value))
      continue;
    const GstStructure *s = gst_value_get_structure(value);
    GstWebRTCStatsType type;
    if (gst_structure_get(s, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, nullptr) &&
        type == GST_WEBRTC_STATS_CANDIDATE_PAIR)
      return s;
  }
  return nullptr;
}

// "host", "srflx", "prflx" or "relay": the type of the pair's candidate that
// `id_field` names; "" before ICE has chosen.
std::string candidate_type(const GstStructure *webrtc_stats, const GstStructure *pair,
                           const char *id_field) {
  const char *id = pair ? gst_structure_get_string(pair, id_field) : nullptr;
  const GValue *value = id ? gst_structure_get_value(webrtc_stats, id) : nullptr;
  if (!value || !GST_VALUE_HOLDS_STRUCTURE(value))
    return {};
  const char *type = gst_structure_get_string(gst_value_get_structure(value), "candidate-type");
  return type ? type : "";
}

} // namespace

GstStructure *CallStats::summarize(const GstStructure *webrtc_stats, const std::string &peer) {
  Sums sums;
  gst_structure_foreach(webrtc_stats, add_entry, &sums);
  gint64 now = g_get_monotonic_time();
  double seconds = at_us_ ? double(now - at_us_) / G_USEC_PER_SEC : 0;
  auto rate = [seconds](guint64 total, guint64 before) -> guint64 {
    return seconds > 0 && total >= before ? guint64(double(total - before) * 8 / seconds) : 0;
  };
  GstStructure *stats = gst_structure_new(
      "webrtccall-stats", "peer", G_TYPE_STRING, peer.c_str(), "tx-bitrate", G_TYPE_UINT64,
      rate(sums.bytes_sent, bytes_sent_), "rx-bitrate", G_TYPE_UINT64,
      rate(sums.bytes_received, bytes_received_), "tx-bytes", G_TYPE_UINT64, sums.bytes_sent,
      "rx-bytes", G_TYPE_UINT64, sums.bytes_received, "rx-packets-lost", G_TYPE_INT64, sums.rx_lost,
      "tx-packets-lost", G_TYPE_INT64, sums.tx_lost, "rx-jitter", G_TYPE_DOUBLE, sums.rx_jitter,
      "tx-jitter", G_TYPE_DOUBLE, sums.tx_jitter, "round-trip-time", G_TYPE_DOUBLE, sums.rtt,
      nullptr);
  // Which path the call took: a "relay" end means it goes through TURN.
  const GstStructure *pair = selected_pair(webrtc_stats);
  gst_structure_set(stats, "local-candidate-type", G_TYPE_STRING,
                    candidate_type(webrtc_stats, pair, "local-candidate-id").c_str(),
                    "remote-candidate-type", G_TYPE_STRING,
                    candidate_type(webrtc_stats, pair, "remote-candidate-id").c_str(), nullptr);
  bytes_sent_ = sums.bytes_sent;
  bytes_received_ = sums.bytes_received;
  at_us_ = now;
  return stats;
}

} // namespace webrtccall
