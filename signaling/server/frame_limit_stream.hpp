// A pass-through input stream that watches WebSocket frame headers and fails
// the read once one message, summed over its fragments, exceeds a limit.
//
// libsoup 3.2 caps the payload of each frame but not the total of a
// fragmented message: it keeps appending continuation frames in memory until
// the final one. Sitting between the socket and SoupWebsocketConnection, this
// stream stops such a message at the header that crosses the limit, before
// its payload is even read. The read error makes libsoup close the
// connection, as it does for an oversize frame.
#pragma once

#include <gio/gio.h>

#include <cstdint>

G_BEGIN_DECLS

#define WEBRTCCALL_TYPE_FRAME_LIMIT_STREAM (webrtccall_frame_limit_stream_get_type())
G_DECLARE_FINAL_TYPE(WebrtccallFrameLimitStream, webrtccall_frame_limit_stream, WEBRTCCALL,
                     FRAME_LIMIT_STREAM, GInputStream)

// `base` must be a pollable input stream carrying client-to-server frames.
GInputStream *webrtccall_frame_limit_stream_new(GInputStream *base, guint64 max_message_bytes);

// Readiness told from outside (the server's epoll set, connection_loops.hpp)
// instead of GLib sources on `base`. libsoup makes a new source on this
// stream for every read; the sources of a GSocket stream add and remove
// their fd each time, and GLib wakes the context up (a write to its eventfd)
// for each, eight system calls per message. Once this is called, the
// stream's sources hold no fd: they are ready while the stream is marked
// readable, from the start until a read would block, and again from each
// webrtccall_frame_limit_stream_set_readable().
void webrtccall_frame_limit_stream_use_external_readiness(WebrtccallFrameLimitStream *stream);
void webrtccall_frame_limit_stream_set_readable(WebrtccallFrameLimitStream *stream);

G_END_DECLS

namespace webrtccall::server {

// The frame-header state machine, apart from GIO so that tests can feed it.
class FrameScanner {
public:
  explicit FrameScanner(std::uint64_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  // Consumes bytes as they arrive; returns false once a message is too large
  // (and keeps returning false).
  bool feed(const std::uint8_t *data, std::size_t length);

  std::uint64_t max_message_bytes() const { return max_message_bytes_; }

private:
  bool header_complete();

  std::uint64_t max_message_bytes_;
  std::uint8_t header_[14] = {};
  std::size_t header_length_ = 0;
  std::uint64_t payload_left_ = 0;
  std::uint64_t message_bytes_ = 0; // data payload of the message being received
  bool over_limit_ = false;
};

} // namespace webrtccall::server
