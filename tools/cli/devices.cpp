#include "devices.hpp"

#include <cstdio>

namespace webrtccall::cli {

namespace {

// What identifies a device besides its name: v4l2 gives the node's path,
// PulseAudio its own name for the source or sink.
std::string device_path(GstDevice *device) {
  g_autoptr(GstStructure) properties = gst_device_get_properties(device);
  if (properties) {
    for (const char *field : {"device.path", "api.v4l2.path"})
      if (const char *path = gst_structure_get_string(properties, field))
        return path;
  }
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(device), "internal-name")) {
    g_autofree char *name = nullptr;
    g_object_get(device, "internal-name", &name, nullptr);
    if (name)
      return name;
  }
  return {};
}

void print_list(const char *title, const std::vector<DevicePtr> &devices) {
  std::printf("%s:\n", title);
  if (devices.empty())
    std::printf("  (none)\n");
  for (const auto &device : devices)
    std::printf("  %s\n", describe(device.get()).c_str());
}

} // namespace

Devices find_devices() {
  Devices found;
  g_autoptr(GstDeviceMonitor) monitor = gst_device_monitor_new();
  gst_device_monitor_add_filter(monitor, "Video/Source", nullptr);
  gst_device_monitor_add_filter(monitor, "Audio/Source", nullptr);
  gst_device_monitor_add_filter(monitor, "Audio/Sink", nullptr);
  if (!gst_device_monitor_start(monitor)) {
    g_message("no device provider could start: no camera, microphone or speaker will be used");
    return found;
  }
  GList *devices = gst_device_monitor_get_devices(monitor); // transfer full
  for (GList *item = devices; item; item = item->next) {
    auto *device = GST_DEVICE(item->data);
    if (gst_device_has_classes(device, "Video/Source"))
      found.cameras.push_back(ref(device));
    else if (gst_device_has_classes(device, "Audio/Source"))
      found.microphones.push_back(ref(device));
    else if (gst_device_has_classes(device, "Audio/Sink"))
      found.speakers.push_back(ref(device));
  }
  g_list_free_full(devices, gst_object_unref);
  gst_device_monitor_stop(monitor);
  return found;
}

GstDevice *find_device(const std::vector<DevicePtr> &devices, const std::string &wanted) {
  for (const auto &device : devices) {
    g_autofree char *name = gst_device_get_display_name(device.get());
    if (wanted == (name ? name : "") || wanted == device_path(device.get()))
      return device.get();
  }
  return nullptr;
}

std::string describe(GstDevice *device) {
  g_autofree char *name = gst_device_get_display_name(device);
  std::string text = name ? name : "(unnamed)";
  std::string path = device_path(device);
  if (!path.empty() && path != text)
    text += " (" + path + ")";
  return text;
}

std::string find_video_sink() {
  const char *wayland = g_getenv("WAYLAND_DISPLAY");
  const char *x11 = g_getenv("DISPLAY");
  std::vector<const char *> candidates;
  if (wayland && *wayland)
    candidates.push_back("waylandsink");
  if (x11 && *x11)
    candidates.insert(candidates.end(), {"xvimagesink", "ximagesink"});
  if (!candidates.empty())
    candidates.push_back("glimagesink");
  for (const char *factory : candidates) {
    GstElement *sink = gst_element_factory_make(factory, nullptr);
    if (!sink)
      continue;
    gst_object_ref_sink(sink);
    // READY opens the display.
    bool opens = gst_element_set_state(sink, GST_STATE_READY) != GST_STATE_CHANGE_FAILURE;
    gst_element_set_state(sink, GST_STATE_NULL);
    gst_object_unref(sink);
    if (opens)
      return factory;
  }
  return {};
}

void print_devices(const Devices &devices) {
  print_list("Cameras (--video)", devices.cameras);
  print_list("Microphones (--audio)", devices.microphones);
  print_list("Speakers", devices.speakers);
  std::string sink = find_video_sink();
  std::printf("Display: %s\n", sink.empty() ? "none (video is not shown)" : sink.c_str());
}

} // namespace webrtccall::cli
