// The terminal UI on standard output: progress lines, and the once-a-second
// statistics line. On a terminal the statistics line is redrawn in place
// under the progress lines; into a pipe or file every one is its own line, so
// scripts and tests read them as they come.
#pragma once

#include <string>

namespace webrtccall::cli {

class Terminal {
public:
  Terminal();

  // A progress line ("In call with bob.").
  void line(const std::string &text);
  // The statistics line: replaces the previous one on a terminal.
  void status(const std::string &text);
  // Drops the statistics line (the call ended).
  void clear_status();
  // A question; the answer comes on standard input.
  void ask(const std::string &question);
  // The question was answered or dropped.
  void answered() { asking_ = false; }
  // A failure, on standard error, with the program's name.
  void error(const std::string &text);

private:
  void erase_status();
  bool tty_;
  bool asking_ = false; // the cursor waits after a question on a terminal
  std::string status_;  // shown on the last line of a terminal
};

} // namespace webrtccall::cli
