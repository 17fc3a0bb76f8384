#include "frame_limit_stream.hpp"

#include <algorithm>
#include <new>

namespace webrtccall::server {

namespace {

std::size_t header_size(const std::uint8_t *header) {
  std::size_t size = 2;
  std::uint8_t length7 = header[1] & 0x7f;
  if (length7 == 126)
    size += 2;
  else if (length7 == 127)
    size += 8;
  if (header[1] & 0x80) // masked: every client frame is
    size += 4;
  return size;
}

} // namespace

bool FrameScanner::header_complete() {
  std::uint8_t length7 = header_[1] & 0x7f;
  std::uint64_t payload = length7;
  if (length7 == 126) {
    payload = (std::uint64_t(header_[2]) << 8) | header_[3];
  } else if (length7 == 127) {
    payload = 0;
    for (int i = 2; i < 10; i++)
      payload = (payload << 8) | header_[i];
  }
  payload_left_ = payload;

  bool final_frame = header_[0] & 0x80;
  std::uint8_t opcode = header_[0] & 0x0f;
  if (opcode & 0x08) // control frames (close, ping, pong) sit between fragments
    return true;
  if (opcode != 0) // text or binary: a new message
    message_bytes_ = 0;
  // Saturating: a 2^63 length must not wrap round to a small one.
  message_bytes_ = payload > max_message_bytes_ - std::min(message_bytes_, max_message_bytes_)
                       ? max_message_bytes_ + 1
                       : message_bytes_ + payload;
  if (message_bytes_ > max_message_bytes_)
    return false;
  if (final_frame)
    message_bytes_ = 0;
  return true;
}

bool FrameScanner::feed(const std::uint8_t *data, std::size_t length) {
  while (length > 0 && !over_limit_) {
    if (payload_left_ > 0) {
      std::size_t skip = std::size_t(std::min<std::uint64_t>(payload_left_, length));
      payload_left_ -= skip;
      data += skip;
      length -= skip;
      continue;
    }
    header_[header_length_++] = *data++;
    length--;
    if (header_length_ >= 2 && header_length_ == header_size(header_)) {
      header_length_ = 0;
      if (!header_complete())
        over_limit_ = true;
    }
  }
  return !over_limit_;
}

} // namespace webrtccall::server

using webrtccall::server::FrameScanner;

struct _WebrtccallFrameLimitStream {
  GInputStream parent;
  GInputStream *base;    // holds ref
  FrameScanner *scanner; // owned; new in _new, delete in finalize
  gboolean external_readiness;
  gboolean readable; // with external readiness: until a read would block
};

// With external readiness: ready while the stream is readable, no fd.
struct ReadableSource {
  GSource source;
  WebrtccallFrameLimitStream *stream; // holds ref
};

static gboolean readable_source_prepare(GSource *source, gint *timeout) {
  *timeout = -1;
  return reinterpret_cast<ReadableSource *>(source)->stream->readable;
}

static gboolean readable_source_check(GSource *source) {
  return reinterpret_cast<ReadableSource *>(source)->stream->readable;
}

static gboolean readable_source_dispatch(GSource *source, GSourceFunc callback,
                                         gpointer user_data) {
  // libsoup set a GPollableSourceFunc, as GIO's own pollable sources take.
  auto func = reinterpret_cast<GPollableSourceFunc>(reinterpret_cast<void (*)()>(callback));
  if (!func)
    return G_SOURCE_REMOVE;
  return func(G_OBJECT(reinterpret_cast<ReadableSource *>(source)->stream), user_data);
}

static void readable_source_finalize(GSource *source) {
  g_object_unref(reinterpret_cast<ReadableSource *>(source)->stream);
}

static GSourceFuncs readable_source_funcs = {readable_source_prepare, readable_source_check,
                                             readable_source_dispatch, readable_source_finalize,
                                             nullptr, nullptr};

static void webrtccall_frame_limit_stream_pollable_init(GPollableInputStreamInterface *iface);

G_DEFINE_TYPE_WITH_CODE(WebrtccallFrameLimitStream, webrtccall_frame_limit_stream,
                        G_TYPE_INPUT_STREAM,
                        G_IMPLEMENT_INTERFACE(G_TYPE_POLLABLE_INPUT_STREAM,
                                              webrtccall_frame_limit_stream_pollable_init))

// Passes a successful read through the scanner; turns an oversize message into an error.
static gssize check_read(WebrtccallFrameLimitStream *self, void *buffer, gssize count,
                         GError **error) {
  if (count <= 0)
    return count;
  if (self->scanner->feed(static_cast<const std::uint8_t *>(buffer), std::size_t(count)))
    return count;
  g_set_error(error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
              "a WebSocket message is larger than %" G_GUINT64_FORMAT " bytes",
              self->scanner->max_message_bytes());
  return -1;
}

static gssize frame_limit_read(GInputStream *stream, void *buffer, gsize count,
                               GCancellable *cancellable, GError **error) {
  auto *self = WEBRTCCALL_FRAME_LIMIT_STREAM(stream);
  gssize n = g_input_stream_read(self->base, buffer, count, cancellable, error);
  return check_read(self, buffer, n, error);
}

static gboolean frame_limit_close(GInputStream *stream, GCancellable *cancellable, GError **error) {
  auto *self = WEBRTCCALL_FRAME_LIMIT_STREAM(stream);
  return g_input_stream_close(self->base, cancellable, error);
}

static gboolean frame_limit_can_poll(GPollableInputStream *stream) {
  auto *self = WEBRTCCALL_FRAME_LIMIT_STREAM(stream);
  return g_pollable_input_stream_can_poll(G_POLLABLE_INPUT_STREAM(self->base));
}

static gboolean frame_limit_is_readable(GPollableInputStream *stream) {
  auto *self = WEBRTCCALL_FRAME_LIMIT_STREAM(stream);
  if (self->external_readiness)
    return self->readable;
  return g_pollable_input_stream_is_readable(G_POLLABLE_INPUT_STREAM(self->base));
}

static GSource *frame_limit_create_source(GPollableInputStream *stream, GCancellable *cancellable) {
  auto *self = WEBRTCCALL_FRAME_LIMIT_STREAM(stream);
  if (self->external_readiness) {
    GSource *source = g_source_new(&readable_source_funcs, sizeof(ReadableSource));
    reinterpret_cast<ReadableSource *>(source)->stream =
        WEBRTCCALL_FRAME_LIMIT_STREAM(g_object_ref(self));
    g_source_set_static_name(source, "webrtccall readable stream");
    return source; // libsoup makes none with a cancellable
  }
  GSource *base_source =
      g_pollable_input_stream_create_source(G_POLLABLE_INPUT_STREAM(self->base), cancellable);
  g_source_set_dummy_callback(base_source);
  GSource *source = g_pollable_source_new(G_OBJECT(stream));
  g_source_add_child_source(source, base_source);
  g_source_unref(base_source);
  return source;
}

static gssize frame_limit_read_nonblocking(GPollableInputStream *stream, void *buffer, gsize count,
                                           GError **error) {
  auto *self = WEBRTCCALL_FRAME_LIMIT_STREAM(stream);
  gssize n = g_pollable_input_stream_read_nonblocking(G_POLLABLE_INPUT_STREAM(self->base), buffer,
                                                      count, nullptr, error);
  // The socket is drained (and so is what the stream under us buffers):
  // wait for the next readiness from outside.
  if (n < 0 && error && g_error_matches(*error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    self->readable = FALSE;
  return check_read(self, buffer, n, error);
}

static void webrtccall_frame_limit_stream_pollable_init(GPollableInputStreamInterface *iface) {
  iface->can_poll = frame_limit_can_poll;
  iface->is_readable = frame_limit_is_readable;
  iface->create_source = frame_limit_create_source;
  iface->read_nonblocking = frame_limit_read_nonblocking;
}

static void webrtccall_frame_limit_stream_finalize(GObject *object) {
  auto *self = WEBRTCCALL_FRAME_LIMIT_STREAM(object);
  g_clear_object(&self->base);
  delete self->scanner;
  G_OBJECT_CLASS(webrtccall_frame_limit_stream_parent_class)->finalize(object);
}

static void webrtccall_frame_limit_stream_class_init(WebrtccallFrameLimitStreamClass *klass) {
  G_OBJECT_CLASS(klass)->finalize = webrtccall_frame_limit_stream_finalize;
  G_INPUT_STREAM_CLASS(klass)->read_fn = frame_limit_read;
  G_INPUT_STREAM_CLASS(klass)->close_fn = frame_limit_close;
}

static void webrtccall_frame_limit_stream_init(WebrtccallFrameLimitStream *) {}

GInputStream *webrtccall_frame_limit_stream_new(GInputStream *base, guint64 max_message_bytes) {
  g_return_val_if_fail(G_IS_POLLABLE_INPUT_STREAM(base), nullptr);
  auto *self =
      WEBRTCCALL_FRAME_LIMIT_STREAM(g_object_new(WEBRTCCALL_TYPE_FRAME_LIMIT_STREAM, nullptr));
  self->base = G_INPUT_STREAM(g_object_ref(base));
  self->scanner = new FrameScanner(max_message_bytes);
  return G_INPUT_STREAM(self);
}

void webrtccall_frame_limit_stream_use_external_readiness(WebrtccallFrameLimitStream *stream) {
  stream->external_readiness = TRUE;
  stream->readable = TRUE; // whatever the stream under us holds already
}

void webrtccall_frame_limit_stream_set_readable(WebrtccallFrameLimitStream *stream) {
  stream->readable = TRUE;
}
