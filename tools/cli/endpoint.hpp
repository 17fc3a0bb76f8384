// One webrtccall-cli run: the pipeline around a webrtccall element, its bus
// read on the main loop, the prompt for incoming calls, Ctrl-C, and the exit
// status that says how the call ended.
#pragma once

#include "answer_input.hpp"
#include "devices.hpp"
#include "exit_status.hpp"
#include "options.hpp"
#include "receivers.hpp"
#include "recorder.hpp"
#include "senders.hpp"
#include "terminal.hpp"

#include <gst/gst.h>

#include <memory>
#include <optional>
#include <string>

namespace webrtccall::cli {

class Endpoint {
public:
  Endpoint(const Options &options, Terminal &terminal);
  ~Endpoint();
  Endpoint(const Endpoint &) = delete;
  Endpoint &operator=(const Endpoint &) = delete;

  // Builds the pipeline. When it cannot be built, says why on the terminal
  // and returns the exit status.
  std::optional<ExitStatus> build(const Devices &devices);
  // Logs in, calls or waits, and returns once the call is over.
  ExitStatus run();

private:
  static gboolean on_bus(GstBus *bus, GstMessage *message, gpointer self);
  static gboolean on_signal(gpointer self);
  static void on_incoming_call(GstElement *call, const char *caller, gpointer pipeline);
  void on_state(const GstStructure *s);
  void on_error(GstMessage *message);
  void on_received_format(const GstStructure *s);
  void on_incoming(const std::string &caller);
  void interrupt();
  // The call has ended (or is ending): EOS, which finalises the recording,
  // should follow; stop anyway if it does not come in time.
  void await_eos();
  void on_eos();
  void start_deadline(); // stop anyway if the end does not come in time
  void stop(ExitStatus status);

  const Options &options_;
  Terminal &terminal_;
  GstElement *pipeline_ = nullptr; // ours
  GstElement *call_ = nullptr;     // owned by the pipeline
  SentMedia sent_;
  std::unique_ptr<Recorder> recorder_;
  std::unique_ptr<Receivers> receivers_;
  std::unique_ptr<AnswerInput> answers_; // when calls are answered at the prompt
  GMainLoop *loop_ = nullptr;
  guint eos_deadline_ = 0;
  bool interrupted_ = false;
  bool call_took_place_ = false; // answered: in-call was reached
  bool call_ended_ = false;
  bool eos_ = false; // every sink has had EOS
  bool media_arrived_ = false;
  gint64 call_started_us_ = 0;
  std::string peer_;
  std::string end_reason_;
  std::string video_format_, audio_format_; // last said, to say changes only
  std::optional<ExitStatus> status_;        // decided by an error or an interruption
};

} // namespace webrtccall::cli
