#include "endpoint.hpp"

#include "progress_text.hpp"

#include <glib-unix.h>

#include <csignal>

namespace webrtccall::cli {

namespace {

// After a hang-up the element ends its src pads and says the call ended; EOS
// reaches the sinks (and finalises the recording) within a moment. Past
// this, something is stuck.
constexpr guint kEndWaitS = 5;

// Posted by the incoming-call handler, which runs on the element's thread.
constexpr const char *kIncomingMessage = "webrtccall-cli-incoming-call";

std::string string_field(const GstStructure *s, const char *field) {
  const char *value = gst_structure_get_string(s, field);
  return value ? value : "";
}

} // namespace

Endpoint::Endpoint(const Options &options, Terminal &terminal)
    : options_(options), terminal_(terminal) {}

Endpoint::~Endpoint() {
  if (eos_deadline_)
    g_source_remove(eos_deadline_);
  if (pipeline_) {
    gst_element_set_state(pipeline_, GST_STATE_NULL);
    gst_object_unref(pipeline_);
  }
  if (loop_)
    g_main_loop_unref(loop_);
}

std::optional<ExitStatus> Endpoint::build(const Devices &devices) {
  pipeline_ = gst_pipeline_new("webrtccall-cli");
  call_ = gst_element_factory_make("webrtccall", "call");
  if (!call_) {
    terminal_.error("the webrtccall element is missing: install it (meson install), or point "
                    "GST_PLUGIN_PATH at the build's gst folder.");
    return ExitStatus::kFailed;
  }
  // decode=false: the recording takes the peer's media as it came; it is
  // decoded here only to be shown or played. end-on-hangup: one call, then
  // EOS, which finalises the recording and ends the program.
  g_object_set(call_, "server", options_.server.c_str(), "user", options_.user.c_str(),
               "auto-answer", options_.auto_answer, "call-timeout", options_.call_timeout_s,
               "reconnect-timeout", options_.reconnect_timeout_s, "ice-addresses",
               options_.ice_addresses.c_str(), "stun-server", options_.stun_server.c_str(),
               "turn-server", options_.turn_server.c_str(), "decode", FALSE, "end-on-hangup", TRUE,
               nullptr);
  if (!options_.call.empty())
    g_object_set(call_, "peer", options_.call.c_str(), nullptr);
  if (!options_.token.empty())
    g_object_set(call_, "token", options_.token.c_str(), nullptr);
  if (!options_.tls_ca_file.empty())
    g_object_set(call_, "tls-ca-file", options_.tls_ca_file.c_str(), nullptr);
  if (options_.tls_insecure)
    g_object_set(call_, "tls-insecure", TRUE, nullptr);
  gst_bin_add(GST_BIN(pipeline_), call_); // owned by the pipeline

  SendError error;
  if (!add_senders(GST_BIN(pipeline_), call_, options_, devices, sent_, error)) {
    terminal_.error(error.text);
    return error.bad_usage ? ExitStatus::kUsage : ExitStatus::kFailed;
  }
  if (!options_.record.empty()) {
    g_autoptr(GstElementFactory) mux = gst_element_factory_find("matroskamux");
    if (!mux) {
      terminal_.error("--record needs matroskamux: install gstreamer1.0-plugins-good.");
      return ExitStatus::kFailed;
    }
    recorder_ = std::make_unique<Recorder>(GST_BIN(pipeline_), options_.record);
  }
  std::string video_sink = options_.headless ? "" : find_video_sink();
  bool play_audio = !options_.headless && !devices.speakers.empty();
  receivers_ = std::make_unique<Receivers>(GST_BIN(pipeline_), std::move(video_sink), play_audio,
                                           recorder_.get());
  g_signal_connect(call_, "pad-added", G_CALLBACK(Receivers::on_pad_added), receivers_.get());
  g_signal_connect(call_, "incoming-call", G_CALLBACK(on_incoming_call), pipeline_);
  if (!options_.auto_answer && options_.call.empty())
    answers_ = std::make_unique<AnswerInput>();
  return std::nullopt;
}

ExitStatus Endpoint::run() {
  loop_ = g_main_loop_new(nullptr, FALSE);
  g_autoptr(GstBus) bus = gst_pipeline_get_bus(GST_PIPELINE(pipeline_));
  gst_bus_add_watch(bus, on_bus, this);
  guint sigint = g_unix_signal_add(SIGINT, on_signal, this);
  guint sigterm = g_unix_signal_add(SIGTERM, on_signal, this);

  if (gst_element_set_state(pipeline_, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    // Say why (an element posted it), and do not wait for a call.
    while (GstMessage *message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
      on_error(message);
      gst_message_unref(message);
    }
    if (!status_)
      status_ = ExitStatus::kFailed;
  } else {
    g_main_loop_run(loop_);
  }

  g_source_remove(sigint);
  g_source_remove(sigterm);
  gst_bus_remove_watch(bus);
  terminal_.clear_status();
  std::string recorded = recorder_ && recorder_->started() ? recorder_->contents() : "";
  gst_element_set_state(pipeline_, GST_STATE_NULL); // hangs up and logs out, if still on
  if (recorder_) {
    if (recorded.empty() || recorded == "nothing")
      terminal_.line("Nothing was recorded: no media came from the peer.");
    else
      terminal_.line("Saved the recording (" + recorded + ") to " + recorder_->path() + ".");
  }
  return status_.value_or(status_for_reason(end_reason_, call_took_place_));
}

gboolean Endpoint::on_bus(GstBus *, GstMessage *message, gpointer data) {
  auto *self = static_cast<Endpoint *>(data);
  const GstStructure *s = gst_message_get_structure(message);
  switch (GST_MESSAGE_TYPE(message)) {
  case GST_MESSAGE_ELEMENT:
    if (GST_MESSAGE_SRC(message) != GST_OBJECT(self->call_))
      break;
    if (gst_structure_has_name(s, "webrtccall-state")) {
      self->on_state(s);
    } else if (gst_structure_has_name(s, "webrtccall-stats")) {
      gint64 seconds = (g_get_monotonic_time() - self->call_started_us_) / G_USEC_PER_SEC;
      self->terminal_.status(stats_line(s, self->call_started_us_ ? seconds : 0));
    }
    break;
  case GST_MESSAGE_APPLICATION:
    if (gst_structure_has_name(s, kReceivedFormatMessage))
      self->on_received_format(s);
    else if (gst_structure_has_name(s, kIncomingMessage))
      self->on_incoming(string_field(s, "caller"));
    break;
  case GST_MESSAGE_ERROR:
    self->on_error(message);
    break;
  case GST_MESSAGE_WARNING: {
    g_autoptr(GError) error = nullptr;
    g_autofree char *debug = nullptr;
    gst_message_parse_warning(message, &error, &debug);
    // The element's warnings (server lost, media timeout) have their own
    // progress lines; others may explain a problem with a device.
    if (GST_MESSAGE_SRC(message) == GST_OBJECT(self->call_))
      g_info("%s (%s)", error->message, debug ? debug : "");
    else
      g_message("%s: %s (%s)", GST_OBJECT_NAME(GST_MESSAGE_SRC(message)), error->message,
                debug ? debug : "");
    break;
  }
  case GST_MESSAGE_EOS:
    self->on_eos();
    break;
  case GST_MESSAGE_LATENCY:
    // Sinks joined while playing: the pipeline's latency must cover them.
    gst_bin_recalculate_latency(GST_BIN(self->pipeline_));
    break;
  default:
    break;
  }
  return G_SOURCE_CONTINUE;
}

void Endpoint::on_state(const GstStructure *s) {
  std::string state = string_field(s, "state");
  std::string peer = string_field(s, "peer");
  std::string reason = string_field(s, "reason");
  if (state == "ended") {
    call_ended_ = true;
    end_reason_ = reason;
    if (call_took_place_) {
      gint64 seconds = (g_get_monotonic_time() - call_started_us_) / G_USEC_PER_SEC;
      terminal_.clear_status();
      // The element hangs up on Ctrl-C, and when every source has ended (files).
      std::string why = reason == "hangup" && !interrupted_ ? "what you were sending ended"
                                                            : end_reason_text(reason, peer_);
      terminal_.line("Call with " + peer_ + " ended after " + duration_text(seconds) + ": " + why +
                     ".");
      await_eos();
    }
    // Before an answer an error follows and says why.
    return;
  }
  if (state == "logged-in" && answers_ && !reason.empty()) {
    answers_->cancel(); // the caller gave up, or the call was missed
    terminal_.answered();
  }
  std::string line = state_line(state, peer, reason, options_.user, options_.server);
  if (!line.empty())
    terminal_.line(line);
  if (state == "logged-in" && reason.empty() && options_.call.empty())
    terminal_.line("Waiting for a call. Ctrl-C quits.");
  if (state == "in-call" && reason.empty() && !call_took_place_) {
    call_took_place_ = true;
    call_started_us_ = g_get_monotonic_time();
    peer_ = peer;
    std::string sending = sent_.video;
    if (!sent_.audio.empty())
      sending += (sending.empty() ? "" : " and ") + sent_.audio;
    terminal_.line(sending.empty() ? "Sending nothing (receive only)."
                                   : "Sending " + sending + ".");
  }
}

void Endpoint::on_error(GstMessage *message) {
  g_autoptr(GError) error = nullptr;
  g_autofree char *debug = nullptr;
  gst_message_parse_error(message, &error, &debug);
  bool from_call = GST_MESSAGE_SRC(message) == GST_OBJECT(call_);
  std::string reason;
  const GstStructure *details = nullptr;
  gst_message_parse_error_details(message, &details);
  if (details)
    reason = string_field(details, "reason");

  if (from_call) {
    // The element's detail says what exactly failed (the server's words, a
    // file's error); its message may refer to it ("the file named below").
    std::string text = in_option_terms(error->message);
    if (debug && *debug)
      text += "\n  (" + in_option_terms(debug) + ")";
    terminal_.error(text);
  } else {
    terminal_.error(error->message);
    g_message("%s: %s", GST_OBJECT_NAME(GST_MESSAGE_SRC(message)), debug ? debug : "");
  }
  if (!status_)
    status_ = from_call ? status_for_reason(reason, call_took_place_) : ExitStatus::kFailed;
  // A call that carried media ends its src pads even when it fails: wait for
  // that EOS, which completes the recording. Otherwise nothing more comes.
  if (from_call && media_arrived_)
    await_eos();
  else
    stop(*status_);
}

void Endpoint::on_received_format(const GstStructure *s) {
  std::string kind = string_field(s, "kind");
  const GValue *value = gst_structure_get_value(s, "caps");
  std::string format = format_text(value ? gst_value_get_caps(value) : nullptr);
  std::string &said = kind == "video" ? video_format_ : audio_format_;
  if (format == said)
    return;
  said = format;
  terminal_.line("Receiving " + format + " from " + (peer_.empty() ? "the peer" : peer_) + ".");
  if (!media_arrived_ && recorder_)
    terminal_.line("Recording to " + recorder_->path() + ".");
  media_arrived_ = true;
}

// The element's signaling thread: over the bus to the main loop.
void Endpoint::on_incoming_call(GstElement *, const char *caller, gpointer pipeline) {
  GstStructure *s = gst_structure_new(kIncomingMessage, "caller", G_TYPE_STRING, caller, nullptr);
  gst_element_post_message(GST_ELEMENT(pipeline),
                           gst_message_new_application(GST_OBJECT(pipeline), s));
}

void Endpoint::on_incoming(const std::string &caller) {
  if (!answers_)
    return;
  if (answers_->closed()) {
    terminal_.line("No one can answer (standard input has ended): declining. Use --auto-answer "
                   "to answer calls.");
    g_signal_emit_by_name(call_, "reject");
    return;
  }
  terminal_.ask(caller + " is calling. Answer? [Y/n] ");
  answers_->await([this](bool accept) {
    terminal_.answered();
    g_signal_emit_by_name(call_, accept ? "answer" : "reject");
  });
}

gboolean Endpoint::on_signal(gpointer data) {
  static_cast<Endpoint *>(data)->interrupt();
  return G_SOURCE_CONTINUE;
}

void Endpoint::interrupt() {
  if (interrupted_) {
    terminal_.line("Stopping now.");
    stop(status_.value_or(call_took_place_ ? ExitStatus::kHungUp : ExitStatus::kInterrupted));
    return;
  }
  interrupted_ = true;
  if (call_took_place_ && !call_ended_) {
    // Hang up and let the end of the call reach the sinks, so the recording
    // is finalised; a second Ctrl-C stops at once.
    terminal_.line("Hanging up...");
    g_signal_emit_by_name(call_, "hangup");
    await_eos();
    return;
  }
  if (call_took_place_) {
    await_eos(); // ending already
    return;
  }
  // No call yet: stopping the element logs out, declining a ringing call or
  // withdrawing ours.
  stop(status_.value_or(ExitStatus::kInterrupted));
}

// Every sink has the end of the peer's media: the recording is complete.
void Endpoint::on_eos() {
  eos_ = true;
  // The element may push EOS before it posts the ended state, whose reason
  // decides the exit status: wait a moment for it.
  if (call_took_place_ && !call_ended_ && !status_)
    start_deadline();
  else
    stop(status_.value_or(status_for_reason(end_reason_, call_took_place_)));
}

void Endpoint::await_eos() {
  if (eos_)
    stop(status_.value_or(status_for_reason(end_reason_, call_took_place_)));
  else
    start_deadline();
}

void Endpoint::start_deadline() {
  if (eos_deadline_)
    return;
  eos_deadline_ = g_timeout_add_seconds(
      kEndWaitS,
      [](gpointer data) {
        auto *self = static_cast<Endpoint *>(data);
        self->eos_deadline_ = 0;
        g_message("the call did not end cleanly within %u s (EOS %s, ended state %s); stopping",
                  kEndWaitS, self->eos_ ? "seen" : "missing",
                  self->call_ended_ ? "seen" : "missing");
        self->stop(
            self->status_.value_or(status_for_reason(self->end_reason_, self->call_took_place_)));
        return G_SOURCE_REMOVE;
      },
      this);
}

void Endpoint::stop(ExitStatus status) {
  if (!status_)
    status_ = status;
  g_main_loop_quit(loop_);
}

} // namespace webrtccall::cli
