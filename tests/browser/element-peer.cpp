// A webrtccall element as a browser's peer, for the browser tests: one
// CallEndpoint (tests/lib) that a node script drives through stdin and
// watches through stdout, next to Chromium in the test's network namespace.
//
//   element-peer --server ws://127.0.0.1:PORT/ --user appliance --video vp9
//     --pattern ball --video-options background-color=0xffff8000 --tone 880 [--manual-answer]
//
// stdin, one command a line: call NAME, answer, reject, hangup, stop (the
// pipeline to NULL), play (back to PLAYING), jitter-buffers, quit. End of input
// quits too, so the program never outlives its test.
//
// stdout, one JSON object a line, each with "event":
//   playing                                  the pipeline is PLAYING (after start and play)
//   stopped                                  the pipeline is NULL (after stop)
//   state {state, peer, reason}              every webrtccall-state message
//   incoming {caller}                        the incoming-call signal (--manual-answer)
//   error, warning {message, reason}         from the bus
//   media {video: {...}, audio: {...}}       twice a second while in a call: what the src
//                                            pads delivered, measured (see report_media)
//   jitter-buffers {buffers, pushed, lost,   after the command: the call's jitter buffers'
//     late, rtx_requests, rtx_recovered,     stats summed (losses asked for again, recovered),
//     retry_wait_ms, video {...}, audio {...}} in all and by media
//   command {command, ok}                    a command was carried out, or not understood
#include "call_endpoint.hpp"
#include "picture.hpp"

#include <json-glib/json-glib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

using namespace webrtccall::test;

namespace {

constexpr guint kReportMs = 500;

// The encoders the tests choose by name: what a browser decodes without
// delay (no lookahead, no B-frames), as webrtcbin-notes.md says.
struct VideoEncoder {
  const char *name;
  const char *description;
};
constexpr VideoEncoder kVideoEncoders[] = {
    {"vp8", "vp8enc deadline=1 lag-in-frames=0"},
    // 4:2:0, as cameras give it: VP9 profile 0, which every browser decodes.
    {"vp9",
     "capsfilter caps=video/x-raw,format=I420 ! vp9enc deadline=1 lag-in-frames=0 cpu-used=8"},
    // vp9enc left to choose, as in a pipeline written from docs/element.md: fed by
    // videotestsrc it picks Y444_12LE, which is VP9 profile 3.
    {"vp9-unconstrained", "vp9enc deadline=1 lag-in-frames=0 cpu-used=8"},
    {"h264", "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 ! "
             "video/x-h264,profile=constrained-baseline"},
};

std::mutex output_lock; // events come from the main thread and the element's signaling thread

// Writes one event line; `fill` adds the event's members.
template <typename Fill> void emit(const char *event, Fill fill) {
  g_autoptr(JsonBuilder) builder = json_builder_new();
  json_builder_begin_object(builder);
  json_builder_set_member_name(builder, "event");
  json_builder_add_string_value(builder, event);
  fill(builder);
  json_builder_end_object(builder);
  g_autoptr(JsonNode) root = json_builder_get_root(builder);
  g_autofree char *text = json_to_string(root, FALSE);
  std::lock_guard<std::mutex> guard(output_lock);
  std::printf("%s\n", text);
  std::fflush(stdout);
}

void emit(const char *event) {
  emit(event, [](JsonBuilder *) {});
}

void member(JsonBuilder *b, const char *name, const char *value) {
  json_builder_set_member_name(b, name);
  json_builder_add_string_value(b, value ? value : "");
}

void member(JsonBuilder *b, const char *name, gint64 value) {
  json_builder_set_member_name(b, name);
  json_builder_add_int_value(b, value);
}

void member(JsonBuilder *b, const char *name, double value) {
  json_builder_set_member_name(b, name);
  json_builder_add_double_value(b, std::isfinite(value) ? value : 0);
}

struct Peer {
  std::unique_ptr<CallEndpoint> endpoint;
  GMainLoop *loop = nullptr;
  bool in_call = false;
  guint bus_watch = 0;
};

// What arrived since the call began: a frame count, the last picture's size
// and pattern, and the tone of the audio received since the last report. The
// audio window restarts at every report, so the tone is the current one, not
// the decoder's first milliseconds.
void report_media(Peer &peer) {
  CallEndpoint &e = *peer.endpoint;
  unsigned frames = e.video.buffers, audio_buffers = e.audio.buffers;
  int width, height;
  gint64 longest_gap_us;
  PictureCheck picture;
  {
    std::lock_guard<std::mutex> guard(e.video.lock);
    width = e.video.width;
    height = e.video.height;
    // The longest freeze since the last report, including one still going on.
    longest_gap_us =
        std::max(e.video.longest_gap_us,
                 e.video.last_frame_us ? g_get_monotonic_time() - e.video.last_frame_us : 0);
    e.video.longest_gap_us = 0;
    picture = check_picture(e.video.last_rgb, width, height);
  }
  std::vector<gint16> samples;
  {
    std::lock_guard<std::mutex> guard(e.audio.lock);
    samples.swap(e.audio.samples);
  }
  double level = 0;
  for (gint16 s : samples)
    level += double(s) * s;
  level = samples.empty() ? 0 : std::sqrt(level / samples.size()) / 32768.0;
  double hz = dominant_frequency(samples, 48000);
  emit("media", [&](JsonBuilder *b) {
    json_builder_set_member_name(b, "video");
    json_builder_begin_object(b);
    member(b, "frames", gint64(frames));
    member(b, "width", gint64(width));
    member(b, "height", gint64(height));
    member(b, "longest_gap_ms", longest_gap_us / 1000);
    member(b, "pattern", picture.pattern.c_str());
    member(b, "why", picture.why.c_str());
    json_builder_end_object(b);
    json_builder_set_member_name(b, "audio");
    json_builder_begin_object(b);
    member(b, "buffers", gint64(audio_buffers));
    member(b, "samples", gint64(samples.size()));
    member(b, "frequency", hz);
    member(b, "level", level); // RMS, 1.0 = full scale
    json_builder_end_object(b);
  });
}

// Between calls nothing is left from the last one: a picture or a count kept
// from it must not pass the next call's checks.
void forget_media(CallEndpoint &e) {
  {
    std::lock_guard<std::mutex> guard(e.video.lock);
    e.video.last_rgb.clear();
    e.video.width = e.video.height = 0;
    e.video.buffers = 0;
    e.video.last_frame_us = e.video.longest_gap_us = 0;
  }
  std::lock_guard<std::mutex> guard(e.audio.lock);
  e.audio.samples.clear();
  e.audio.buffers = 0;
}

gboolean on_bus(GstBus *, GstMessage *message, gpointer data) {
  Peer &peer = *static_cast<Peer *>(data);
  switch (GST_MESSAGE_TYPE(message)) {
  case GST_MESSAGE_ELEMENT: {
    const GstStructure *s = gst_message_get_structure(message);
    if (gst_structure_has_name(s, "webrtccall-stats")) {
      emit("stats", [&](JsonBuilder *b) {
        for (const char *field : {"local-candidate-type", "remote-candidate-type"})
          member(b, field, gst_structure_get_string(s, field));
        guint64 rx = 0;
        gst_structure_get_uint64(s, "rx-bitrate", &rx);
        member(b, "rx-bitrate", gint64(rx));
      });
      break;
    }
    if (!gst_structure_has_name(s, "webrtccall-state"))
      break;
    const char *state = gst_structure_get_string(s, "state");
    bool in_call = g_strcmp0(state, "in-call") == 0;
    if (peer.in_call && !in_call)
      forget_media(*peer.endpoint);
    peer.in_call = in_call;
    emit("state", [&](JsonBuilder *b) {
      member(b, "state", state);
      member(b, "peer", gst_structure_get_string(s, "peer"));
      member(b, "reason", gst_structure_get_string(s, "reason"));
    });
    break;
  }
  case GST_MESSAGE_ERROR:
  case GST_MESSAGE_WARNING: {
    bool is_error = GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR;
    g_autoptr(GError) error = nullptr;
    g_autofree char *debug = nullptr;
    const GstStructure *details = nullptr;
    if (is_error) {
      gst_message_parse_error(message, &error, &debug);
      gst_message_parse_error_details(message, &details);
    } else {
      gst_message_parse_warning(message, &error, &debug);
      gst_message_parse_warning_details(message, &details);
    }
    emit(is_error ? "error" : "warning", [&](JsonBuilder *b) {
      member(b, "source", GST_OBJECT_NAME(GST_MESSAGE_SRC(message)));
      member(b, "message", error->message);
      member(b, "debug", debug);
      member(b, "reason", details ? gst_structure_get_string(details, "reason") : "");
    });
    break;
  }
  default:
    break;
  }
  return G_SOURCE_CONTINUE;
}

// The pipeline to `state`; reports "playing" or "stopped" once there.
bool set_state(Peer &peer, GstState state) {
  GstElement *pipeline = peer.endpoint->pipeline();
  if (gst_element_set_state(pipeline, state) == GST_STATE_CHANGE_FAILURE)
    return false;
  if (state == GST_STATE_NULL) {
    if (peer.in_call)
      forget_media(*peer.endpoint);
    peer.in_call = false;
    emit("stopped");
  } else {
    // Live sources: PLAYING is reached without prerolling; wait for it anyway
    // so "playing" means it.
    gst_element_get_state(pipeline, nullptr, nullptr, 5 * GST_SECOND);
    emit("playing");
  }
  return true;
}

// What the rtpjitterbuffers in the pipeline (inside webrtcbin's rtpbin: one a
// received stream) counted, summed by media: what the network tests read to
// show that packets were lost and asked for again (NACK), and that the
// retransmissions (RTX) filled the gaps.
struct JitterBufferTotals {
  guint64 buffers = 0, pushed = 0, lost = 0, late = 0, requests = 0, recovered = 0;
  gint64 retry_wait_ms = -1; // the longest wait before asking again; -1: never asks
};

// The jitter buffer's stats summed, and where each goes.
constexpr std::pair<const char *, guint64 JitterBufferTotals::*> kStatsFields[] = {
    {"num-pushed", &JitterBufferTotals::pushed},
    {"num-lost", &JitterBufferTotals::lost},
    {"num-late", &JitterBufferTotals::late},
    {"rtx-count", &JitterBufferTotals::requests},
    {"rtx-success-count", &JitterBufferTotals::recovered},
};

struct JitterBufferReport {
  JitterBufferTotals all, video, audio;
};

// "video" or "audio": what the jitter buffer's stream is, read from the caps
// of the payload demuxer after it (the jitter buffer's own caps carry only
// the SSRC); nullptr for a stream that has not reached it.
const char *media_of(GstElement *jitterbuffer) {
  g_autoptr(GstPad) src = gst_element_get_static_pad(jitterbuffer, "src");
  g_autoptr(GstPad) peer = src ? gst_pad_get_peer(src) : nullptr;
  g_autoptr(GstElement) demuxer = peer ? gst_pad_get_parent_element(peer) : nullptr;
  if (!demuxer)
    return nullptr;
  const char *found = nullptr;
  GST_OBJECT_LOCK(demuxer);
  for (GList *pad = demuxer->srcpads; pad && !found; pad = pad->next) {
    g_autoptr(GstCaps) caps = gst_pad_get_current_caps(GST_PAD(pad->data));
    const char *media = caps && !gst_caps_is_empty(caps)
                            ? gst_structure_get_string(gst_caps_get_structure(caps, 0), "media")
                            : nullptr;
    if (g_strcmp0(media, "video") == 0)
      found = "video";
    else if (g_strcmp0(media, "audio") == 0)
      found = "audio";
  }
  GST_OBJECT_UNLOCK(demuxer);
  return found;
}

void add_jitter_buffer(const GValue *item, gpointer data) {
  auto &report = *static_cast<JitterBufferReport *>(data);
  auto *jitterbuffer = GST_ELEMENT(g_value_get_object(item));
  GstStructure *stats = nullptr;
  g_object_get(jitterbuffer, "stats", &stats, nullptr);
  const char *media = media_of(jitterbuffer);
  JitterBufferTotals *of_media = g_strcmp0(media, "video") == 0   ? &report.video
                                 : g_strcmp0(media, "audio") == 0 ? &report.audio
                                                                  : nullptr;
  gboolean asks = FALSE;
  gint retry_wait_ms = -1;
  g_object_get(jitterbuffer, "do-retransmission", &asks, "rtx-min-retry-timeout", &retry_wait_ms,
               nullptr);
  for (JitterBufferTotals *totals : {&report.all, of_media}) {
    if (!totals)
      continue;
    totals->buffers++;
    if (asks)
      totals->retry_wait_ms = std::max(totals->retry_wait_ms, gint64(retry_wait_ms));
    for (const auto &[name, total] : kStatsFields) {
      guint64 value = 0;
      if (stats && gst_structure_get_uint64(stats, name, &value))
        totals->*total += value;
    }
  }
  if (stats)
    gst_structure_free(stats);
}

void add_totals(JsonBuilder *b, const JitterBufferTotals &totals) {
  member(b, "buffers", gint64(totals.buffers));
  member(b, "pushed", gint64(totals.pushed));
  member(b, "lost", gint64(totals.lost));
  member(b, "late", gint64(totals.late));
  member(b, "rtx_requests", gint64(totals.requests));
  member(b, "rtx_recovered", gint64(totals.recovered));
  member(b, "retry_wait_ms", totals.retry_wait_ms);
}

void report_jitter_buffers(GstElement *pipeline) {
  JitterBufferReport report;
  GstIterator *buffers =
      gst_bin_iterate_all_by_element_factory_name(GST_BIN(pipeline), "rtpjitterbuffer");
  // The pipeline changed under us (a stream came or went): count again.
  while (gst_iterator_foreach(buffers, add_jitter_buffer, &report) == GST_ITERATOR_RESYNC) {
    gst_iterator_resync(buffers);
    report = {};
  }
  gst_iterator_free(buffers);
  emit("jitter-buffers", [&](JsonBuilder *b) {
    add_totals(b, report.all);
    for (const auto &[name, totals] :
         {std::pair{"video", &report.video}, {"audio", &report.audio}}) {
      json_builder_set_member_name(b, name);
      json_builder_begin_object(b);
      add_totals(b, *totals);
      json_builder_end_object(b);
    }
  });
}

bool run_command(Peer &peer, const std::string &line) {
  GstElement *call = peer.endpoint->call();
  if (g_str_has_prefix(line.c_str(), "call ")) {
    g_signal_emit_by_name(call, "call", line.c_str() + 5);
    return true;
  }
  for (const char *action : {"answer", "reject", "hangup"}) {
    if (line == action) {
      g_signal_emit_by_name(call, action);
      return true;
    }
  }
  if (line == "stop")
    return set_state(peer, GST_STATE_NULL);
  if (line == "play")
    return set_state(peer, GST_STATE_PLAYING);
  if (line == "jitter-buffers") {
    report_jitter_buffers(peer.endpoint->pipeline());
    return true;
  }
  if (line == "quit") {
    g_main_loop_quit(peer.loop);
    return true;
  }
  return false;
}

gboolean on_stdin(GIOChannel *channel, GIOCondition, gpointer data) {
  Peer &peer = *static_cast<Peer *>(data);
  g_autofree char *line = nullptr;
  gsize length = 0;
  GIOStatus status = g_io_channel_read_line(channel, &line, &length, nullptr, nullptr);
  if (status == G_IO_STATUS_AGAIN)
    return G_SOURCE_CONTINUE;
  if (status != G_IO_STATUS_NORMAL) {
    g_main_loop_quit(peer.loop); // the test is gone
    return G_SOURCE_REMOVE;
  }
  std::string command = g_strstrip(line);
  if (command.empty())
    return G_SOURCE_CONTINUE;
  bool ok = run_command(peer, command);
  emit("command", [&](JsonBuilder *b) {
    member(b, "command", command.c_str());
    json_builder_set_member_name(b, "ok");
    json_builder_add_boolean_value(b, ok);
  });
  return G_SOURCE_CONTINUE;
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  g_autofree char *server = nullptr, *user = nullptr, *video = nullptr, *audio = nullptr;
  g_autofree char *pattern = nullptr, *video_options = nullptr, *properties = nullptr;
  int tone = 440;
  gboolean manual_answer = FALSE;
  const GOptionEntry entries[] = {
      {"server", 0, 0, G_OPTION_ARG_STRING, &server, "signaling server URL", "URL"},
      {"user", 0, 0, G_OPTION_ARG_STRING, &user, "the name to log in as", "NAME"},
      {"video", 0, 0, G_OPTION_ARG_STRING, &video, "vp8, vp9, vp9-unconstrained, h264 or none",
       "CODEC"},
      {"audio", 0, 0, G_OPTION_ARG_STRING, &audio, "opus or none", "CODEC"},
      {"pattern", 0, 0, G_OPTION_ARG_STRING, &pattern, "videotestsrc pattern", "PATTERN"},
      {"video-options", 0, 0, G_OPTION_ARG_STRING, &video_options, "more videotestsrc settings",
       "PROPS"},
      {"tone", 0, 0, G_OPTION_ARG_INT, &tone, "sine frequency sent", "HZ"},
      {"manual-answer", 0, 0, G_OPTION_ARG_NONE, &manual_answer,
       "auto-answer=false: wait for answer or reject", nullptr},
      {"properties", 0, 0, G_OPTION_ARG_STRING, &properties, "more webrtccall properties", "PROPS"},
      {},
  };
  g_autoptr(GOptionContext) context = g_option_context_new("- a webrtccall peer for tests");
  g_option_context_add_main_entries(context, entries, nullptr);
  g_autoptr(GError) error = nullptr;
  if (!g_option_context_parse(context, &argc, &argv, &error) || !server || !user) {
    g_printerr("%s\n", error ? error->message : "--server and --user are required");
    return 2;
  }

  EndpointOptions o;
  o.server = server;
  o.user = user;
  // Every interface: in the test's namespace that is its veth, where
  // Chromium's candidates are (libnice skips loopback).
  o.ice_addresses = "";
  // Idle after every call, so a test can call again in the same pipeline.
  o.properties = std::string("end-on-hangup=false") + (manual_answer ? " auto-answer=false" : "") +
                 " " + (properties ? properties : "");
  std::string video_name = video ? video : "vp8";
  o.send_video = video_name != "none";
  if (o.send_video) {
    o.video_encoder.clear();
    for (const auto &encoder : kVideoEncoders)
      if (video_name == encoder.name)
        o.video_encoder = encoder.description;
    if (o.video_encoder.empty()) {
      g_printerr("unknown --video %s\n", video_name.c_str());
      return 2;
    }
  }
  std::string audio_name = audio ? audio : "opus";
  o.send_audio = audio_name != "none";
  if (o.send_audio && audio_name != "opus") {
    g_printerr("unknown --audio %s\n", audio_name.c_str());
    return 2;
  }
  if (pattern)
    o.video_pattern = pattern;
  if (video_options)
    o.video_options = video_options;
  o.audio_frequency = tone;

  Peer peer;
  peer.endpoint = std::make_unique<CallEndpoint>(o);
  peer.loop = g_main_loop_new(nullptr, FALSE);
  g_signal_connect(peer.endpoint->call(), "incoming-call",
                   G_CALLBACK(+[](GstElement *, char *caller, gpointer) {
                     emit("incoming", [&](JsonBuilder *b) { member(b, "caller", caller); });
                   }),
                   nullptr);
  g_autoptr(GstBus) bus = gst_element_get_bus(peer.endpoint->pipeline());
  peer.bus_watch = gst_bus_add_watch(bus, on_bus, &peer);
  GIOChannel *in = g_io_channel_unix_new(0);
  guint in_watch = g_io_add_watch(in, GIOCondition(G_IO_IN | G_IO_HUP | G_IO_ERR), on_stdin, &peer);
  guint report = g_timeout_add(
      kReportMs,
      +[](gpointer data) -> gboolean {
        Peer &peer = *static_cast<Peer *>(data);
        if (peer.in_call)
          report_media(peer);
        return G_SOURCE_CONTINUE;
      },
      &peer);

  int status = 0;
  if (!set_state(peer, GST_STATE_PLAYING)) {
    g_printerr("the pipeline refused to play\n");
    status = 1;
  } else {
    g_main_loop_run(peer.loop);
  }
  g_source_remove(report);
  g_source_remove(in_watch);
  g_io_channel_unref(in);
  g_source_remove(peer.bus_watch);
  peer.endpoint.reset(); // to NULL
  g_main_loop_unref(peer.loop);
  return status;
}
