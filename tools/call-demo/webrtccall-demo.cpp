// webrtccall-demo: a whole call on this machine. Starts the signaling server
// on a free port, runs two webrtccall endpoints (alice calls bob) with test
// sources, saves a PNG of what each side received, and prints a summary.
#include <gio/gio.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <csignal>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

namespace {

struct Options {
  int duration_s = 10;
  int width = 640, height = 480;
  std::string output_dir = ".";
  std::string server_binary;
};

// What one side received, counted on streaming threads.
struct Side {
  std::string name;
  GstElement *pipeline = nullptr;
  GstElement *call = nullptr;
  std::atomic<unsigned> frames{0};
  std::atomic<gint64> first_frame_us{0};
  std::mutex lock;
  GstSample *last = nullptr; // the last received frame, for the snapshot
  guint64 rx_bitrate = 0, tx_bitrate = 0;
  double rtt = -1;
  std::string end_reason;
};

GstFlowReturn on_frame(GstAppSink *sink, gpointer data) {
  auto *side = static_cast<Side *>(data);
  GstSample *sample = gst_app_sink_pull_sample(sink);
  if (!sample)
    return GST_FLOW_OK;
  gint64 expected = 0;
  side->first_frame_us.compare_exchange_strong(expected, g_get_monotonic_time());
  side->frames++;
  std::lock_guard<std::mutex> guard(side->lock);
  if (side->last)
    gst_sample_unref(side->last);
  side->last = sample;
  return GST_FLOW_OK;
}

void on_pad_added(GstElement *, GstPad *pad, gpointer data) {
  auto *side = static_cast<Side *>(data);
  g_autofree char *name = gst_pad_get_name(pad);
  bool video = g_str_has_prefix(name, "video");
  GstElement *branch = gst_parse_bin_from_description(
      video ? "queue ! appsink name=frames sync=false" : "queue ! fakesink sync=false", TRUE,
      nullptr);
  if (video) {
    GstElement *sink = gst_bin_get_by_name(GST_BIN(branch), "frames");
    GstAppSinkCallbacks callbacks = {};
    callbacks.new_sample = on_frame;
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, side, nullptr);
    gst_object_unref(sink);
  }
  gst_bin_add(GST_BIN(side->pipeline), branch);
  gst_element_sync_state_with_parent(branch);
  g_autoptr(GstPad) sinkpad = gst_element_get_static_pad(branch, "sink");
  gst_pad_link(pad, sinkpad);
}

bool make_side(Side &side, const std::string &url, const char *user, const char *peer,
               const char *pattern, int freq, const Options &o) {
  side.name = user;
  std::string description =
      "webrtccall name=call server=" + url + " user=" + user +
      " ice-addresses=127.0.0.1 latency=50 " + (peer ? std::string("peer=") + peer : "") +
      " videotestsrc is-live=true pattern=" + pattern +
      " ! video/x-raw,width=" + std::to_string(o.width) + ",height=" + std::to_string(o.height) +
      ",framerate=30/1 ! vp8enc deadline=1 lag-in-frames=0 ! call.video_sink_0"
      " audiotestsrc is-live=true wave=sine freq=" +
      std::to_string(freq) + " ! opusenc perfect-timestamp=true ! call.audio_sink_0";
  g_autoptr(GError) error = nullptr;
  side.pipeline = gst_parse_launch(description.c_str(), &error);
  if (!side.pipeline) {
    g_printerr("demo: cannot build %s's pipeline: %s\n", user, error->message);
    return false;
  }
  side.call = gst_bin_get_by_name(GST_BIN(side.pipeline), "call");
  g_signal_connect(side.call, "pad-added", G_CALLBACK(on_pad_added), &side);
  return true;
}

// Handles one side's bus messages; false on an error.
bool drain_bus(Side &side) {
  g_autoptr(GstBus) bus = gst_element_get_bus(side.pipeline);
  while (GstMessage *message = gst_bus_pop(bus)) {
    bool ok = true;
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
      g_autoptr(GError) error = nullptr;
      gst_message_parse_error(message, &error, nullptr);
      g_printerr("demo: %s: %s\n", side.name.c_str(), error->message);
      ok = false;
    } else if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ELEMENT) {
      const GstStructure *s = gst_message_get_structure(message);
      if (gst_structure_has_name(s, "webrtccall-stats")) {
        gst_structure_get_uint64(s, "rx-bitrate", &side.rx_bitrate);
        gst_structure_get_uint64(s, "tx-bitrate", &side.tx_bitrate);
        gst_structure_get_double(s, "round-trip-time", &side.rtt);
      } else if (gst_structure_has_name(s, "webrtccall-state")) {
        const char *state = gst_structure_get_string(s, "state");
        g_print("  %-5s %s %s\n", side.name.c_str(), state, gst_structure_get_string(s, "peer"));
        if (g_strcmp0(state, "ended") == 0)
          side.end_reason = gst_structure_get_string(s, "reason");
      }
    }
    gst_message_unref(message);
    if (!ok)
      return false;
  }
  return true;
}

bool save_snapshot(Side &side, const std::string &path) {
  std::lock_guard<std::mutex> guard(side.lock);
  if (!side.last)
    return false;
  g_autoptr(GstCaps) png = gst_caps_from_string("image/png");
  g_autoptr(GError) error = nullptr;
  g_autoptr(GstSample) converted = gst_video_convert_sample(side.last, png, 5 * GST_SECOND, &error);
  if (!converted) {
    g_printerr("demo: cannot make a PNG of %s's picture: %s\n", side.name.c_str(), error->message);
    return false;
  }
  GstMapInfo map;
  GstBuffer *buffer = gst_sample_get_buffer(converted);
  gst_buffer_map(buffer, &map, GST_MAP_READ);
  bool ok = g_file_set_contents(path.c_str(), reinterpret_cast<const char *>(map.data),
                                gssize(map.size), nullptr);
  gst_buffer_unmap(buffer, &map);
  return ok;
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  g_autofree char *size = nullptr, *output = nullptr, *server = nullptr;
  GOptionEntry entries[] = {
      {"duration", 'd', 0, G_OPTION_ARG_INT, &o.duration_s, "Seconds the call lasts (default 10)",
       "S"},
      {"size", 's', 0, G_OPTION_ARG_STRING, &size, "Video size (default 640x480)", "WxH"},
      {"output-dir", 'o', 0, G_OPTION_ARG_FILENAME, &output,
       "Where the snapshots go (default: here)", "DIR"},
      {"server-binary", 0, 0, G_OPTION_ARG_FILENAME, &server,
       "The webrtccall-signaling to start (default: the one built beside this)", "PATH"},
      {},
  };
  g_autoptr(GOptionContext) context =
      g_option_context_new("- a WebRTC call between two test endpoints");
  g_option_context_add_main_entries(context, entries, nullptr);
  g_option_context_add_group(context, gst_init_get_option_group());
  g_autoptr(GError) error = nullptr;
  if (!g_option_context_parse(context, &argc, &argv, &error)) {
    g_printerr("demo: %s\n", error->message);
    return 2;
  }
  if (size && std::sscanf(size, "%dx%d", &o.width, &o.height) != 2) {
    g_printerr("demo: --size must look like 640x480\n");
    return 2;
  }
  if (o.duration_s < 1 || o.width < 16 || o.height < 16) {
    g_printerr("demo: --duration must be at least 1 and --size at least 16x16\n");
    return 2;
  }
  if (output)
    o.output_dir = output;
  o.server_binary = server ? server : WEBRTCCALL_SIGNALING_PATH;

  // The server, on a free port of the loopback interface.
  const char *server_argv[] = {
      o.server_binary.c_str(), "--host", "127.0.0.1", "--port", "0", nullptr};
  g_autoptr(GSubprocess) server_process =
      g_subprocess_newv(server_argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  if (!server_process) {
    g_printerr("demo: cannot start %s: %s\n", o.server_binary.c_str(), error->message);
    return 1;
  }
  g_autoptr(GDataInputStream) lines =
      g_data_input_stream_new(g_subprocess_get_stdout_pipe(server_process));
  g_autofree char *url = g_data_input_stream_read_line(lines, nullptr, nullptr, &error);
  if (!url) {
    g_printerr("demo: the server printed no URL\n");
    return 1;
  }
  g_print("signaling server: %s\n", url);

  Side alice, bob;
  if (!make_side(bob, url, "bob", nullptr, "ball", 880, o) ||
      !make_side(alice, url, "alice", "bob", "smpte", 440, o))
    return 1;
  gst_element_set_state(bob.pipeline, GST_STATE_PLAYING);
  // bob logs in first; alice's call waits for him anyway (presence).
  gint64 start = g_get_monotonic_time();
  gst_element_set_state(alice.pipeline, GST_STATE_PLAYING);
  g_print("alice calls bob for %d s at %dx%d...\n", o.duration_s, o.width, o.height);

  bool ok = true;
  gint64 end = start + gint64(o.duration_s) * G_USEC_PER_SEC;
  while (ok && g_get_monotonic_time() < end) {
    ok = drain_bus(alice) && drain_bus(bob);
    g_usleep(50 * 1000);
  }
  unsigned alice_frames = alice.frames, bob_frames = bob.frames;
  double seconds = double(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
  std::string alice_png = o.output_dir + "/alice-received.png";
  std::string bob_png = o.output_dir + "/bob-received.png";
  bool alice_saved = save_snapshot(alice, alice_png);
  bool bob_saved = save_snapshot(bob, bob_png);

  g_signal_emit_by_name(alice.call, "hangup");
  for (int i = 0; i < 40 && (alice.end_reason.empty() || bob.end_reason.empty()); i++) {
    drain_bus(alice);
    drain_bus(bob);
    g_usleep(50 * 1000);
  }

  auto setup = [start](const Side &side) {
    gint64 first = side.first_frame_us;
    return first ? g_strdup_printf("%.0f ms", double(first - start) / 1000) : g_strdup("never");
  };
  g_autofree char *alice_setup = setup(alice);
  g_autofree char *bob_setup = setup(bob);
  g_print("\nsummary\n");
  g_print("  set-up, call to first frame:  bob saw alice after %s, alice saw bob after %s\n",
          bob_setup, alice_setup);
  g_print("  alice -> bob: %u frames (%.1f fps), %.0f kbit/s\n", bob_frames, bob_frames / seconds,
          bob.rx_bitrate / 1000.0);
  g_print("  bob -> alice: %u frames (%.1f fps), %.0f kbit/s\n", alice_frames,
          alice_frames / seconds, alice.rx_bitrate / 1000.0);
  if (alice.rtt >= 0)
    g_print("  round trip:   %.1f ms\n", alice.rtt * 1000);
  g_print("  snapshots:    %s, %s\n", bob_saved ? bob_png.c_str() : "(none)",
          alice_saved ? alice_png.c_str() : "(none)");
  g_print("  ended:        alice %s, bob %s\n",
          alice.end_reason.empty() ? "(still in call)" : alice.end_reason.c_str(),
          bob.end_reason.empty() ? "(still in call)" : bob.end_reason.c_str());

  gst_element_set_state(alice.pipeline, GST_STATE_NULL);
  gst_element_set_state(bob.pipeline, GST_STATE_NULL);
  for (Side *side : {&alice, &bob}) {
    if (side->last)
      gst_sample_unref(side->last);
    gst_object_unref(side->call);
    gst_object_unref(side->pipeline);
  }
  g_subprocess_send_signal(server_process, SIGTERM);
  g_subprocess_wait(server_process, nullptr, nullptr);
  bool call_worked = ok && alice_frames > 0 && bob_frames > 0 && alice_saved && bob_saved;
  if (!call_worked)
    g_printerr("demo: the call did not carry video both ways\n");
  return call_worked ? 0 : 1;
}
