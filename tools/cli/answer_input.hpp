// Answers to "Answer? [Y/n]", one line each from standard input, read on the
// main loop. Standard input may be a terminal or a pipe (a script answering);
// at its end (closed, /dev/null) no one can answer, and every call is
// declined: the safe default for a program nobody is watching.
#pragma once

#include <glib.h>

#include <functional>
#include <string>

namespace webrtccall::cli {

class AnswerInput {
public:
  using Handler = std::function<void(bool accept)>;

  AnswerInput();
  ~AnswerInput();
  AnswerInput(const AnswerInput &) = delete;
  AnswerInput &operator=(const AnswerInput &) = delete;

  // The next answer goes to `handler`: true for y, yes or an empty line,
  // false for n or no, false at the end of input. Replaces an earlier one.
  void await(Handler handler);
  // The question is moot (the caller gave up, or the call was missed).
  void cancel() { handler_ = nullptr; }
  // Standard input has ended.
  bool closed() const { return watch_ == 0; }

private:
  static gboolean on_readable(gint fd, GIOCondition condition, gpointer self);
  void take_lines();
  void end_of_input();

  guint watch_ = 0;
  std::string pending_; // read, not yet a whole line
  Handler handler_;
};

} // namespace webrtccall::cli
