// The webrtccall plugin: registers the element.
#include "gstwebrtccall.h"

static gboolean plugin_init(GstPlugin *plugin) {
  return GST_ELEMENT_REGISTER(webrtccall, plugin);
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, webrtccall,
                  "WebRTC calls through a signaling server", plugin_init, WEBRTCCALL_VERSION, "MIT",
                  "webrtccall", "webrtccall")
