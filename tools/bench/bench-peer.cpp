// One webrtccall endpoint (endpoint.hpp) driven by a benchmark script through
// stdin, reporting through stdout with wall-clock times, so that a script can
// time a call across this process, a browser and another endpoint.
//
//   webrtccall-bench-peer --server ws://127.0.0.1:PORT/ --user alice
//       [--ice-addresses 127.0.0.1] [--width 640 --height 480] [--codec vp8|h264]
//       [--low-latency] [--latency MS] [--bitrate KBPS] [--encoder-options "cpu-used=8"]
//       [--no-lip-sync] [--stamp] [--motion] [--no-audio] [--faststart PACKETS]
//       [--processing-deadline MS] [--ice-pacing MS]
//
// stdin, one command a line: call NAME, hangup, latencies, frames, pipeline-latency,
// element-latencies, ts-offsets, quit (or end of input).
// stdout, one JSON object a line, times in ms since the epoch:
//   {"event":"playing","t":T}
//   {"event":"state","state":S,"reason":R,"t":T}      every webrtccall-state message
//   {"event":"called","t":T}                          the call action was emitted
//   {"event":"first-frame","t":T,"call":T0}           the call's first decoded frame
//   {"event":"latencies","ms":[...],"unreadable":N}   stamps read since the last ask
//   {"event":"frames","video":N,"audio":N}
//   {"event":"pipeline-latency","live":B,"min_ms":X}   the pipeline's latency query
//   {"event":"ts-offsets","offsets":[{"media":M,"ms":X}]}  each jitter buffer's lip-sync delay
#include "endpoint.hpp"

#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

using namespace webrtccall::bench;

GST_DEBUG_CATEGORY_STATIC(bench_debug);
#define GST_CAT_DEFAULT bench_debug

namespace {

std::unique_ptr<Endpoint> endpoint;
GMainLoop *loop;
double reported_first = 0;

std::string quoted(const std::string &text) {
  g_autofree char *escaped = g_strescape(text.c_str(), nullptr);
  return std::string("\"") + escaped + "\"";
}

void emit(const std::string &json) {
  std::printf("%s\n", json.c_str());
  std::fflush(stdout);
}

// Every element in the pipeline, however deep in bins.
void for_each_element(const std::function<void(GstElement *)> &visit) {
  GstIterator *it = gst_bin_iterate_recurse(GST_BIN(endpoint->pipeline()));
  GValue item = G_VALUE_INIT;
  while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
    visit(GST_ELEMENT(g_value_get_object(&item)));
    g_value_reset(&item);
  }
  g_value_unset(&item);
  gst_iterator_free(it);
}

// What a jitter buffer carries, video or audio: its own caps lack it, the
// pads of the payload demuxer after it have it. Its name if neither says.
std::string media_of_jitterbuffer(GstElement *jitterbuffer) {
  std::string media = GST_OBJECT_NAME(jitterbuffer);
  g_autoptr(GstPad) src = gst_element_get_static_pad(jitterbuffer, "src");
  g_autoptr(GstPad) peer = src ? gst_pad_get_peer(src) : nullptr;
  g_autoptr(GstElement) demux = peer ? gst_pad_get_parent_element(peer) : nullptr;
  if (!demux)
    return media;
  GST_OBJECT_LOCK(demux);
  for (GList *l = demux->srcpads; l; l = l->next) {
    g_autoptr(GstCaps) caps = gst_pad_get_current_caps(GST_PAD(l->data));
    const GstStructure *s =
        caps && gst_caps_get_size(caps) ? gst_caps_get_structure(caps, 0) : nullptr;
    if (const char *kind = s ? gst_structure_get_string(s, "media") : nullptr)
      media = kind;
  }
  GST_OBJECT_UNLOCK(demux);
  return media;
}

// Polled rather than posted from the streaming thread, so stdout has one writer.
gboolean watch_first_frame(gpointer) {
  double first = endpoint->first_frame_ms;
  if (first != 0 && first != reported_first) {
    reported_first = first;
    char line[160];
    std::snprintf(line, sizeof line, "{\"event\":\"first-frame\",\"t\":%.3f,\"call\":%.3f}", first,
                  double(endpoint->call_ms));
    emit(line);
  }
  return G_SOURCE_CONTINUE;
}

void command(const std::string &line) {
  if (line.rfind("call ", 0) == 0) {
    // The debug log's clock counts from this process's start: this line ties
    // it to the wall clock, for tools/bench/trace-call.mjs.
    GST_INFO("wall-clock %.3f: calling", wall_ms());
    endpoint->call(line.substr(5));
    char text[80];
    std::snprintf(text, sizeof text, "{\"event\":\"called\",\"t\":%.3f}",
                  double(endpoint->call_ms));
    emit(text);
  } else if (line == "hangup") {
    endpoint->hangup();
  } else if (line == "latencies") {
    unsigned unreadable = 0;
    std::string out = "{\"event\":\"latencies\",\"ms\":[";
    auto values = endpoint->take_latencies(&unreadable);
    for (size_t i = 0; i < values.size(); i++) {
      char number[32];
      std::snprintf(number, sizeof number, "%s%.2f", i ? "," : "", values[i]);
      out += number;
    }
    emit(out + "],\"unreadable\":" + std::to_string(unreadable) + "}");
  } else if (line == "frames") {
    emit("{\"event\":\"frames\",\"video\":" + std::to_string(endpoint->frames) +
         ",\"audio\":" + std::to_string(endpoint->audio_buffers) + "}");
  } else if (line == "pipeline-latency") {
    // What the sinks wait for: the jitter buffer's latency plus every live
    // source's and encoder's along the longest path in the pipeline.
    g_autoptr(GstQuery) query = gst_query_new_latency();
    gboolean live = FALSE;
    GstClockTime min = 0, max = 0;
    if (gst_element_query(endpoint->pipeline(), query))
      gst_query_parse_latency(query, &live, &min, &max);
    char text[96];
    std::snprintf(text, sizeof text, "{\"event\":\"pipeline-latency\",\"live\":%s,\"min_ms\":%.1f}",
                  live ? "true" : "false", min / 1e6);
    emit(text);
  } else if (line == "element-latencies") {
    // Every src pad's latency query, to find which element adds what to
    // the pipeline's latency (docs/benchmarks.md).
    std::string out = "{\"event\":\"element-latencies\",\"pads\":{";
    bool first = true;
    for_each_element([&](GstElement *element) {
      for (GList *l = element->srcpads; l; l = l->next) {
        g_autoptr(GstQuery) query = gst_query_new_latency();
        gboolean live = FALSE;
        GstClockTime min = 0, max = 0;
        if (!gst_pad_query(GST_PAD(l->data), query))
          continue;
        gst_query_parse_latency(query, &live, &min, &max);
        g_autofree char *name = gst_object_get_path_string(GST_OBJECT(l->data));
        char number[32];
        std::snprintf(number, sizeof number, "%.1f", min / 1e6);
        out += std::string(first ? "" : ",") + quoted(name) + ":" + number;
        first = false;
      }
    });
    emit(out + "}}");
  } else if (line == "ts-offsets") {
    // Each jitter buffer's ts-offset: how much rtpbin's lip-sync delays that
    // stream of the peer's (docs/benchmarks.md, glass-to-glass latency).
    std::string out = "{\"event\":\"ts-offsets\",\"offsets\":[";
    bool first = true;
    for_each_element([&](GstElement *element) {
      GstElementFactory *factory = gst_element_get_factory(element);
      if (!factory || !g_str_equal(GST_OBJECT_NAME(factory), "rtpjitterbuffer"))
        return;
      gint64 offset = 0;
      g_object_get(element, "ts-offset", &offset, nullptr);
      char number[32];
      std::snprintf(number, sizeof number, "%.1f", offset / 1e6);
      out += std::string(first ? "" : ",") +
             "{\"media\":" + quoted(media_of_jitterbuffer(element)) + ",\"ms\":" + number + "}";
      first = false;
    });
    emit(out + "]}");
  } else if (line == "quit") {
    g_main_loop_quit(loop);
  } else {
    emit("{\"event\":\"unknown\",\"line\":" + quoted(line) + "}");
  }
}

gboolean on_stdin(GIOChannel *channel, GIOCondition, gpointer) {
  g_autofree char *line = nullptr;
  gsize terminator = 0;
  GIOStatus status = g_io_channel_read_line(channel, &line, nullptr, &terminator, nullptr);
  if (status == G_IO_STATUS_EOF || status == G_IO_STATUS_ERROR) {
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
  }
  if (line) {
    line[terminator] = '\0';
    command(line);
  }
  return G_SOURCE_CONTINUE;
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  GST_DEBUG_CATEGORY_INIT(bench_debug, "webrtccall-bench", 0, "benchmark endpoint");
  EndpointConfig c;
  g_autofree char *server = nullptr, *user = nullptr, *ice = nullptr, *codec = nullptr;
  gboolean low_latency = FALSE, stamp = FALSE, motion = FALSE, no_audio = FALSE;
  gboolean no_lip_sync = FALSE;
  int latency = -1, bitrate = 0, width = 640, height = 480;
  g_autofree char *encoder_options = nullptr;
  int faststart = 0, processing_deadline = -1, ice_pacing = -1;
  GOptionEntry entries[] = {
      {"server", 0, 0, G_OPTION_ARG_STRING, &server, "Signaling server URL", "URL"},
      {"user", 0, 0, G_OPTION_ARG_STRING, &user, "User name", "NAME"},
      {"ice-addresses", 0, 0, G_OPTION_ARG_STRING, &ice, "Addresses to gather on", "LIST"},
      {"codec", 0, 0, G_OPTION_ARG_STRING, &codec, "vp8 or h264", "CODEC"},
      {"width", 0, 0, G_OPTION_ARG_INT, &width, "Picture width", "PX"},
      {"height", 0, 0, G_OPTION_ARG_INT, &height, "Picture height", "PX"},
      {"low-latency", 0, 0, G_OPTION_ARG_NONE, &low_latency, "Encoder without lookahead", nullptr},
      {"latency", 0, 0, G_OPTION_ARG_INT, &latency, "The element's latency property", "MS"},
      {"no-lip-sync", 0, 0, G_OPTION_ARG_NONE, &no_lip_sync, "The element's lip-sync=false",
       nullptr},
      {"ice-pacing", 0, 0, G_OPTION_ARG_INT, &ice_pacing, "The element's ice-pacing", "MS"},
      {"bitrate", 0, 0, G_OPTION_ARG_INT, &bitrate, "Encoder bitrate", "KBPS"},
      {"encoder-options", 0, 0, G_OPTION_ARG_STRING, &encoder_options, "More encoder properties",
       "PROPS"},
      {"faststart", 0, 0, G_OPTION_ARG_INT, &faststart,
       "Experiment: faststart-min-packets on webrtcbin's jitter buffers", "PACKETS"},
      {"processing-deadline", 0, 0, G_OPTION_ARG_INT, &processing_deadline,
       "The sinks' processing-deadline (default: basesink's, 20 ms)", "MS"},
      {"stamp", 0, 0, G_OPTION_ARG_NONE, &stamp, "Stamp frames and read the stamps", nullptr},
      {"motion", 0, 0, G_OPTION_ARG_NONE, &motion, "Scroll the picture", nullptr},
      {"no-audio", 0, 0, G_OPTION_ARG_NONE, &no_audio, "Send no audio", nullptr},
      {}};
  g_autoptr(GOptionContext) context = g_option_context_new("- a benchmark call endpoint");
  g_option_context_add_main_entries(context, entries, nullptr);
  g_autoptr(GError) error = nullptr;
  if (!g_option_context_parse(context, &argc, &argv, &error) || !server || !user) {
    g_printerr("%s\n", error ? error->message : "--server and --user are required");
    return 2;
  }
  c.server = server;
  c.user = user;
  c.ice_addresses = ice ? ice : "";
  c.codec = codec ? codec : "vp8";
  c.width = width;
  c.height = height;
  c.low_latency = low_latency;
  c.latency_ms = latency;
  c.lip_sync = !no_lip_sync;
  c.ice_pacing_ms = ice_pacing;
  c.bitrate_kbps = bitrate;
  c.encoder_options = encoder_options ? encoder_options : "";
  c.stamp = stamp;
  c.faststart_packets = faststart > 0 ? unsigned(faststart) : 0;
  c.motion = motion;
  c.processing_deadline_ms = processing_deadline;
  c.audio = !no_audio;

  loop = g_main_loop_new(nullptr, FALSE);
  endpoint = std::make_unique<Endpoint>(c, [](const std::string &state, const std::string &reason) {
    char t[32];
    std::snprintf(t, sizeof t, "%.3f", wall_ms());
    emit("{\"event\":\"state\",\"state\":" + quoted(state) + ",\"reason\":" + quoted(reason) +
         ",\"t\":" + t + "}");
  });
  double playing = wall_ms();
  endpoint->play();
  GST_INFO("wall-clock %.3f: playing", wall_ms());
  char line[64];
  std::snprintf(line, sizeof line, "{\"event\":\"playing\",\"t\":%.3f}", playing);
  emit(line);
  GIOChannel *in = g_io_channel_unix_new(0);
  g_io_add_watch(in, GIOCondition(G_IO_IN | G_IO_HUP), on_stdin, nullptr);
  g_timeout_add(2, watch_first_frame, nullptr);
  g_main_loop_run(loop);
  endpoint.reset();
  g_io_channel_unref(in);
  g_main_loop_unref(loop);
  return 0;
}
