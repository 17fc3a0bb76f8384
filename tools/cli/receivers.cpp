#include "receivers.hpp"

#include "decoded_streams.hpp"

#include <string>

namespace webrtccall::cli {

namespace {

// Runs on the thread that sets the pad's caps; the bus carries it to the
// main loop.
void on_caps(GstPad *pad, GParamSpec *, gpointer pipeline) {
  g_autoptr(GstCaps) caps = gst_pad_get_current_caps(pad);
  if (!caps)
    return;
  g_autofree char *name = gst_pad_get_name(pad);
  const char *kind = g_str_has_prefix(name, "video") ? "video" : "audio";
  GstStructure *s = gst_structure_new(kReceivedFormatMessage, "kind", G_TYPE_STRING, kind, "caps",
                                      GST_TYPE_CAPS, caps, nullptr);
  gst_element_post_message(GST_ELEMENT(pipeline),
                           gst_message_new_application(GST_OBJECT(pipeline), s));
}

} // namespace

void Receivers::on_pad_added(GstElement *, GstPad *pad, gpointer self) {
  static_cast<Receivers *>(self)->add(pad);
}

GstElement *Receivers::make_player(MediaKind kind) {
  std::string output;
  if (kind == MediaKind::kVideo && !video_sink_.empty())
    output = "videoconvert ! " + video_sink_;
  else if (kind == MediaKind::kAudio && play_audio_)
    output = "audioconvert ! audioresample ! autoaudiosink";
  if (output.empty())
    return gst_parse_bin_from_description("fakesink sync=false async=false", TRUE, nullptr);

  // queue ! decodebin, then the output once decodebin has found the stream.
  // Built by hand: a parsed "decodebin ! videoconvert" would ghost
  // videoconvert's sink pad, unlinked until then, as the bin's input.
  g_autoptr(GError) error = nullptr;
  GstElement *sink = gst_parse_bin_from_description(output.c_str(), TRUE, &error);
  GstElement *queue = gst_element_factory_make("queue", nullptr);
  GstElement *decoder = gst_element_factory_make("decodebin", nullptr);
  if (!sink || !queue || !decoder) {
    g_message("cannot play the peer's media (%s); dropping it instead",
              error ? error->message : "queue or decodebin is missing");
    for (GstElement *made : {sink, queue, decoder})
      if (made)
        gst_object_unref(gst_object_ref_sink(made));
    return gst_parse_bin_from_description("fakesink sync=false async=false", TRUE, nullptr);
  }
  GstElement *player = gst_bin_new(nullptr);
  gst_bin_add_many(GST_BIN(player), queue, decoder, sink, nullptr); // owned by the player
  gst_element_link(queue, decoder);
  g_autoptr(GstPad) sink_input = gst_element_get_static_pad(sink, "sink");
  route_decoded_streams(decoder, sink_input, kind == MediaKind::kVideo ? "video/" : "audio/");
  g_autoptr(GstPad) queue_input = gst_element_get_static_pad(queue, "sink");
  gst_element_add_pad(player, gst_ghost_pad_new("sink", queue_input));
  // It joins a playing pipeline: its sink's preroll must not send the
  // pipeline back to PAUSED.
  g_object_set(player, "async-handling", TRUE, nullptr);
  return player;
}

void Receivers::add(GstPad *src) {
  if (GST_PAD_DIRECTION(src) != GST_PAD_SRC)
    return;
  g_autofree char *name = gst_pad_get_name(src);
  MediaKind kind = g_str_has_prefix(name, "video") ? MediaKind::kVideo : MediaKind::kAudio;
  g_signal_connect(src, "notify::caps", G_CALLBACK(on_caps), pipeline_);

  GstElement *player = make_player(kind);
  gst_bin_add(pipeline_, player); // owned by the pipeline
  gst_element_sync_state_with_parent(player);
  g_autoptr(GstPad) player_sink = gst_element_get_static_pad(player, "sink");
  if (!recorder_) {
    if (gst_pad_link(src, player_sink) != GST_PAD_LINK_OK)
      g_message("cannot link the peer's %s to its player", name);
    return;
  }

  // The recording and the player share the stream.
  GstElement *tee = gst_element_factory_make("tee", nullptr);
  gst_bin_add(pipeline_, tee); // owned by the pipeline
  GstPad *to_player = gst_element_request_pad_simple(tee, "src_%u");
  gst_pad_link(to_player, player_sink);
  gst_object_unref(to_player); // the tee keeps its pad
  // The codec, known from the pad's caps query before any buffer (the
  // element's chain ends in a depayloader or parser of one codec).
  g_autoptr(GstCaps) caps = gst_pad_query_caps(src, nullptr);
  GstPad *to_recorder = gst_element_request_pad_simple(tee, "src_%u");
  if (!recorder_->add(kind, to_recorder, caps))
    gst_element_release_request_pad(tee, to_recorder);
  gst_object_unref(to_recorder);
  gst_element_sync_state_with_parent(tee);
  g_autoptr(GstPad) tee_sink = gst_element_get_static_pad(tee, "sink");
  if (gst_pad_link(src, tee_sink) != GST_PAD_LINK_OK)
    g_message("cannot link the peer's %s to its player and recording", name);
}

} // namespace webrtccall::cli
