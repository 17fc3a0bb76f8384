#include "answer_input.hpp"

#include <glib-unix.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace webrtccall::cli {

AnswerInput::AnswerInput() {
  // Plain read() on readiness: one read never blocks then, and stdin's flags
  // stay as they are (O_NONBLOCK would leak to the shell sharing the terminal).
  watch_ =
      g_unix_fd_add(STDIN_FILENO, GIOCondition(G_IO_IN | G_IO_HUP | G_IO_ERR), on_readable, this);
}

AnswerInput::~AnswerInput() {
  if (watch_)
    g_source_remove(watch_);
}

void AnswerInput::await(Handler handler) {
  handler_ = std::move(handler);
  if (closed())
    std::exchange(handler_, nullptr)(false);
  else
    take_lines(); // typed ahead
}

gboolean AnswerInput::on_readable(gint fd, GIOCondition, gpointer data) {
  auto *self = static_cast<AnswerInput *>(data);
  char buffer[1024];
  ssize_t n = read(fd, buffer, sizeof buffer);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return G_SOURCE_CONTINUE;
  if (n <= 0) {
    self->watch_ = 0;
    self->end_of_input();
    return G_SOURCE_REMOVE;
  }
  self->pending_.append(buffer, size_t(n));
  self->take_lines();
  return G_SOURCE_CONTINUE;
}

void AnswerInput::take_lines() {
  size_t end;
  while (handler_ && (end = pending_.find('\n')) != std::string::npos) {
    std::string line = pending_.substr(0, end);
    pending_.erase(0, end + 1);
    g_autofree char *answer = g_ascii_strdown(g_strstrip(line.data()), -1);
    if (!*answer || g_str_equal(answer, "y") || g_str_equal(answer, "yes"))
      std::exchange(handler_, nullptr)(true);
    else if (g_str_equal(answer, "n") || g_str_equal(answer, "no"))
      std::exchange(handler_, nullptr)(false);
    // Anything else: the question stands; the next line may answer it.
  }
}

void AnswerInput::end_of_input() {
  g_info("standard input ended: calls will be declined");
  if (handler_)
    std::exchange(handler_, nullptr)(false);
}

} // namespace webrtccall::cli
