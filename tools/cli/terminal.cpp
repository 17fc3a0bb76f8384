#include "terminal.hpp"

#include <unistd.h>

#include <cstdio>

namespace webrtccall::cli {

Terminal::Terminal() : tty_(isatty(STDOUT_FILENO)) {
  // Into a pipe, stdout is block-buffered: a reader would see nothing until
  // the program ends.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
}

void Terminal::erase_status() {
  if (asking_) {
    std::fputs("\n", stdout); // the question stays on its line, unanswered
    asking_ = false;
  }
  if (tty_ && !status_.empty())
    std::fputs("\r\033[K", stdout); // back to the line's start, clear it
}

void Terminal::line(const std::string &text) {
  erase_status();
  std::printf("%s\n", text.c_str());
  if (tty_ && !status_.empty())
    std::fputs(status_.c_str(), stdout);
  std::fflush(stdout);
}

void Terminal::status(const std::string &text) {
  if (!tty_) {
    std::printf("%s\n", text.c_str());
    return;
  }
  erase_status();
  status_ = text;
  std::fputs(status_.c_str(), stdout);
  std::fflush(stdout);
}

void Terminal::clear_status() {
  if (tty_ && !status_.empty()) {
    // Keep the last statistics on screen: they are the call's summary.
    std::fputs("\n", stdout);
    std::fflush(stdout);
  }
  status_.clear();
}

void Terminal::ask(const std::string &question) {
  erase_status();
  std::fputs(question.c_str(), stdout);
  if (tty_)
    asking_ = true; // the answer's Enter ends the line
  else
    std::fputs("\n", stdout); // a reader waits for whole lines
  std::fflush(stdout);
}

void Terminal::error(const std::string &text) {
  erase_status();
  std::fflush(stdout);
  std::fprintf(stderr, "webrtccall-cli: %s\n", text.c_str());
  if (tty_ && !status_.empty()) {
    std::fputs(status_.c_str(), stdout);
    std::fflush(stdout);
  }
}

} // namespace webrtccall::cli
