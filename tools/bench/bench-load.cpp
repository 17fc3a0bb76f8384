// Cost per call: N calls between pairs of webrtccall elements in this one
// process, through a signaling server, each sending a moving test picture and
// an Opus tone both ways and decoding what it receives. Once every call has
// video both ways and a warm-up has passed, it measures for a window: the
// process's CPU time (user + system), its resident memory, and each call's
// decoded frames each way, in total and per second.
//
//   webrtccall-bench-load --server ws://127.0.0.1:PORT/ --calls N [--seconds 60]
//       [--width 640 --height 480] [--codec vp8|h264] [--bitrate KBPS] [--warmup 5]
//       [--encoder-options "cpu-used=8"]
//
// Prints one JSON object: what was asked, cpu_percent (of one core, whole
// process), rss_mb and baseline_rss_mb (after loading the plugins, before any
// pipeline), fps (per call: [caller received, callee received]) and
// min_second_fps (the slowest one-second interval of any call, either way).
#include "endpoint.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

using namespace webrtccall::bench;

namespace {

double cpu_seconds() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval &t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double rss_mb() {
  g_autofree char *status = nullptr;
  if (!g_file_get_contents("/proc/self/status", &status, nullptr, nullptr))
    return -1;
  const char *line = std::strstr(status, "VmRSS:");
  return line ? g_ascii_strtod(line + 6, nullptr) / 1024.0 : -1;
}

// Runs the default main context (the endpoints' bus watches) until `done`
// holds or the deadline passes.
template <typename Done> bool run_until(Done done, double seconds) {
  gint64 deadline = g_get_monotonic_time() + gint64(seconds * G_USEC_PER_SEC);
  while (!done()) {
    if (g_get_monotonic_time() > deadline)
      return false;
    g_main_context_iteration(nullptr, FALSE);
    g_usleep(2000); // nothing to wait on but the bus watches, polled above
  }
  return true;
}

void run_for(double seconds) {
  run_until([] { return false; }, seconds);
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  g_autofree char *server = nullptr, *codec = nullptr, *encoder_options = nullptr;
  int calls = 1, seconds = 60, warmup = 5, width = 640, height = 480, bitrate = 0;
  GOptionEntry entries[] = {
      {"server", 0, 0, G_OPTION_ARG_STRING, &server, "Signaling server URL", "URL"},
      {"calls", 0, 0, G_OPTION_ARG_INT, &calls, "Concurrent calls", "N"},
      {"seconds", 0, 0, G_OPTION_ARG_INT, &seconds, "Measuring window", "S"},
      {"warmup", 0, 0, G_OPTION_ARG_INT, &warmup, "Seconds in call before measuring", "S"},
      {"width", 0, 0, G_OPTION_ARG_INT, &width, "Picture width", "PX"},
      {"height", 0, 0, G_OPTION_ARG_INT, &height, "Picture height", "PX"},
      {"codec", 0, 0, G_OPTION_ARG_STRING, &codec, "vp8 or h264", "CODEC"},
      {"bitrate", 0, 0, G_OPTION_ARG_INT, &bitrate, "Encoder bitrate", "KBPS"},
      {"encoder-options", 0, 0, G_OPTION_ARG_STRING, &encoder_options, "More encoder properties",
       "PROPS"},
      {}};
  g_autoptr(GOptionContext) context = g_option_context_new("- cost per call");
  g_option_context_add_main_entries(context, entries, nullptr);
  if (!g_option_context_parse(context, &argc, &argv, nullptr) || !server)
    return 2;

  // The baseline: GStreamer and every plugin a call uses loaded, no pipeline.
  for (const char *name : {"webrtccall", "webrtcbin", "vp8enc", "vp8dec", "x264enc", "avdec_h264",
                           "opusenc", "opusdec", "videotestsrc", "audiotestsrc", "fakesink"}) {
    if (GstElement *e = gst_element_factory_make(name, nullptr))
      gst_object_unref(gst_object_ref_sink(e));
  }
  double baseline_rss = rss_mb();

  std::string prefix = "load" + std::to_string(getpid()) + "-";
  std::vector<std::unique_ptr<Endpoint>> endpoints; // caller i at 2i, callee at 2i+1
  std::vector<std::string> states(2 * calls);
  bool failed = false;
  for (int i = 0; i < 2 * calls; i++) {
    EndpointConfig c;
    c.server = server;
    c.user = prefix + std::to_string(i);
    c.ice_addresses = "127.0.0.1";
    c.width = width;
    c.height = height;
    c.codec = codec ? codec : "vp8";
    c.bitrate_kbps = bitrate;
    c.encoder_options = encoder_options ? encoder_options : "";
    c.low_latency = true;
    c.motion = true;
    endpoints.push_back(std::make_unique<Endpoint>(
        c, [&states, &failed, i](const std::string &state, const std::string &) {
          states[i] = state;
          if (state == "error")
            failed = true;
        }));
    endpoints.back()->play();
  }
  auto all = [&](const char *state) {
    return std::all_of(states.begin(), states.end(), [&](auto &s) { return s == state; });
  };
  if (!run_until([&] { return all("logged-in") || failed; }, 60) || failed) {
    g_printerr("not every endpoint logged in\n");
    return 1;
  }
  for (int i = 0; i < calls; i++)
    endpoints[2 * i]->call(prefix + std::to_string(2 * i + 1));
  auto flowing = [&] {
    return std::all_of(endpoints.begin(), endpoints.end(), [](auto &e) { return e->frames > 0; });
  };
  if (!run_until([&] { return flowing() || failed; }, 60) || failed) {
    g_printerr("not every call got video both ways within 60 s\n");
    return 1;
  }
  run_for(warmup);

  std::vector<uint64_t> start_frames, last_frames;
  for (auto &e : endpoints)
    start_frames.push_back(e->frames);
  last_frames = start_frames;
  double min_second_fps = 1e9;
  double cpu_start = cpu_seconds();
  gint64 t_start = g_get_monotonic_time();
  for (int s = 0; s < seconds; s++) {
    gint64 next = t_start + gint64(s + 1) * G_USEC_PER_SEC;
    run_for((next - g_get_monotonic_time()) / 1e6);
    for (size_t i = 0; i < endpoints.size(); i++) {
      uint64_t now = endpoints[i]->frames;
      min_second_fps = std::min(min_second_fps, double(now - last_frames[i]));
      last_frames[i] = now;
    }
  }
  double elapsed = (g_get_monotonic_time() - t_start) / 1e6;
  double cpu = cpu_seconds() - cpu_start;
  double rss = rss_mb();

  std::string fps = "[";
  double min_fps = 1e9;
  for (int i = 0; i < calls; i++) {
    double a = (last_frames[2 * i] - start_frames[2 * i]) / elapsed;
    double b = (last_frames[2 * i + 1] - start_frames[2 * i + 1]) / elapsed;
    min_fps = std::min({min_fps, a, b});
    char pair[64];
    std::snprintf(pair, sizeof pair, "%s[%.2f,%.2f]", i ? "," : "", a, b);
    fps += pair;
  }
  fps += "]";
  std::printf("{\"calls\":%d,\"width\":%d,\"height\":%d,\"codec\":\"%s\",\"bitrate_kbps\":%d,"
              "\"encoder_options\":\"%s\",\"seconds\":%.1f,\"cpu_percent\":%.1f,\"rss_mb\":%.1f,"
              "\"baseline_rss_mb\":%.1f,"
              "\"min_fps\":%.2f,\"min_second_fps\":%.0f,\"fps\":%s}\n",
              calls, width, height, codec ? codec : "vp8", bitrate,
              encoder_options ? encoder_options : "", elapsed, 100 * cpu / elapsed, rss,
              baseline_rss, min_fps, min_second_fps, fps.c_str());
  std::fflush(stdout);
  for (int i = 0; i < calls; i++)
    endpoints[2 * i]->hangup();
  run_for(1);
  endpoints.clear();
  return 0;
}
