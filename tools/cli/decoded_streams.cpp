#include "decoded_streams.hpp"

#include <atomic>

namespace webrtccall::cli {

namespace {

struct Route {
  const char *media_prefix;
  GstPad *target;                 // holds a ref
  std::atomic<bool> taken{false}; // decodebin may add pads from more than one thread
};

// decodebin's pad-added, on a streaming thread.
void on_pad_added(GstElement *, GstPad *pad, gpointer data) {
  auto *route = static_cast<Route *>(data);
  g_autoptr(GstCaps) caps = gst_pad_query_caps(pad, nullptr);
  const char *media_type =
      gst_caps_is_empty(caps) ? "" : gst_structure_get_name(gst_caps_get_structure(caps, 0));
  if (g_str_has_prefix(media_type, route->media_prefix) && !route->taken.exchange(true)) {
    if (gst_pad_link(pad, route->target) != GST_PAD_LINK_OK)
      g_message("cannot link the decoded %s stream", media_type);
    return;
  }
  gst_pad_add_probe(
      pad, GST_PAD_PROBE_TYPE_DATA_DOWNSTREAM,
      [](GstPad *, GstPadProbeInfo *, gpointer) { return GST_PAD_PROBE_DROP; }, nullptr, nullptr);
}

} // namespace

void route_decoded_streams(GstElement *decodebin, GstPad *target, const char *media_prefix) {
  auto *route = new Route;
  route->media_prefix = media_prefix;
  route->target = GST_PAD(gst_object_ref(target));
  g_signal_connect_data(
      decodebin, "pad-added", G_CALLBACK(on_pad_added), route,
      [](gpointer data, GClosure *) {
        auto *route = static_cast<Route *>(data);
        gst_object_unref(route->target);
        delete route;
      },
      GConnectFlags(0));
}

} // namespace webrtccall::cli
