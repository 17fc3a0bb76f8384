#include "receivers.hpp"

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
  // Sinks join a playing pipeline: async-handling / async=false keep them from
  // sending it back to PAUSED to preroll.
  const char *description = "fakesink sync=false async=false";
  if (kind == MediaKind::kVideo && show_video_)
    description = "queue ! decodebin ! videoconvert ! autovideosink async-handling=true";
  else if (kind == MediaKind::kAudio && play_audio_)
    description = "queue ! decodebin ! audioconvert ! audioresample ! "
                  "autoaudiosink async-handling=true";
  g_autoptr(GError) error = nullptr;
  GstElement *player = gst_parse_bin_from_description(description, TRUE, &error);
  if (!player) {
    g_message("cannot play the peer's media (%s); dropping it instead", error->message);
    player = gst_parse_bin_from_description("fakesink sync=false async=false", TRUE, nullptr);
  }
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
