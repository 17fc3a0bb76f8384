// The element on its own: pads, properties, state changes without a server.
#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include <cstring>
#include <string>

namespace {

GstElement *make() {
  GstElement *element = gst_element_factory_make("webrtccall", nullptr);
  if (!element)
    g_error("webrtccall not found: is GST_PLUGIN_PATH pointing at the build?");
  return GST_ELEMENT(gst_object_ref_sink(element));
}

void test_registered_with_pad_templates() {
  g_autoptr(GstElementFactory) factory = gst_element_factory_find("webrtccall");
  g_assert_nonnull(factory);
  struct {
    const char *name;
    GstPadDirection direction;
    GstPadPresence presence;
    const char *caps;
  } expected[] = {
      {"video_sink_%u", GST_PAD_SINK, GST_PAD_REQUEST, "video/x-vp8"},
      {"audio_sink_%u", GST_PAD_SINK, GST_PAD_REQUEST, "audio/x-opus"},
      {"video_src_%u", GST_PAD_SRC, GST_PAD_SOMETIMES, "video/x-raw"},
      {"audio_src_%u", GST_PAD_SRC, GST_PAD_SOMETIMES, "audio/x-raw"},
  };
  for (const auto &e : expected) {
    bool found = false;
    for (const GList *l = gst_element_factory_get_static_pad_templates(factory); l; l = l->next) {
      auto *templ = static_cast<GstStaticPadTemplate *>(l->data);
      if (std::strcmp(templ->name_template, e.name) != 0)
        continue;
      found = true;
      g_assert_cmpint(templ->direction, ==, e.direction);
      g_assert_cmpint(templ->presence, ==, e.presence);
      g_autoptr(GstCaps) caps = gst_static_caps_get(&templ->static_caps);
      g_autoptr(GstCaps) want = gst_caps_from_string(e.caps);
      g_assert_true(gst_caps_can_intersect(caps, want));
    }
    if (!found)
      g_error("no pad template %s", e.name);
  }
}

void test_request_and_release_pads() {
  g_autoptr(GstElement) element = make();
  g_autoptr(GstPad) v0 = gst_element_request_pad_simple(element, "video_sink_%u");
  g_autoptr(GstPad) v1 = gst_element_request_pad_simple(element, "video_sink_%u");
  g_autoptr(GstPad) a0 = gst_element_request_pad_simple(element, "audio_sink_%u");
  g_assert_nonnull(v0);
  g_assert_nonnull(v1);
  g_assert_nonnull(a0);
  g_assert_cmpstr(GST_PAD_NAME(v0), ==, "video_sink_0");
  g_assert_cmpstr(GST_PAD_NAME(v1), ==, "video_sink_1");
  g_assert_cmpstr(GST_PAD_NAME(a0), ==, "audio_sink_0");
  g_assert_cmpint(element->numsinkpads, ==, 3);
  // A named request, as gst-launch makes them.
  g_autoptr(GstPad) named = gst_element_request_pad_simple(element, "audio_sink_5");
  g_assert_cmpstr(GST_PAD_NAME(named), ==, "audio_sink_5");
  gst_element_release_request_pad(element, v0);
  g_assert_cmpint(element->numsinkpads, ==, 3);
  // The freed name is reused.
  g_autoptr(GstPad) again = gst_element_request_pad_simple(element, "video_sink_%u");
  g_assert_cmpstr(GST_PAD_NAME(again), ==, "video_sink_0");
  // Sink pads take the encoded media the element can payload, not raw video.
  g_autoptr(GstCaps) vp8 = gst_caps_from_string("video/x-vp8,width=320,height=240");
  g_autoptr(GstCaps) raw = gst_caps_from_string("video/x-raw,format=I420");
  g_assert_true(gst_pad_query_accept_caps(again, vp8));
  g_assert_false(gst_pad_query_accept_caps(again, raw));
}

void test_properties_have_defaults_and_round_trip() {
  g_autoptr(GstElement) element = make();
  g_autofree char *server = nullptr;
  gboolean auto_answer = FALSE, end_on_hangup = FALSE, decode = FALSE, upnp = TRUE;
  gboolean lip_sync = FALSE, ice_tcp = FALSE;
  guint latency = 0, call_timeout = 0, reconnect = 0, stats = 0;
  g_object_get(element, "server", &server, "auto-answer", &auto_answer, "end-on-hangup",
               &end_on_hangup, "decode", &decode, "upnp", &upnp, "latency", &latency, "lip-sync",
               &lip_sync, "call-timeout", &call_timeout, "reconnect-timeout", &reconnect,
               "stats-interval", &stats, "ice-tcp", &ice_tcp, nullptr);
  g_assert_cmpstr(server, ==, "ws://127.0.0.1:9090");
  g_assert_true(auto_answer);
  g_assert_true(end_on_hangup);
  g_assert_true(decode);
  g_assert_false(upnp);
  g_assert_true(ice_tcp);
  g_assert_cmpuint(latency, ==, 200);
  g_assert_true(lip_sync);
  g_assert_cmpuint(call_timeout, ==, 30);
  g_assert_cmpuint(reconnect, ==, 10);
  g_assert_cmpuint(stats, ==, 1000);
  // ICE pacing: RFC 8445's floor is the default and the minimum.
  guint pacing = 0;
  g_object_get(element, "ice-pacing", &pacing, nullptr);
  g_assert_cmpuint(pacing, ==, 5);
  auto *pacing_spec =
      G_PARAM_SPEC_UINT(g_object_class_find_property(G_OBJECT_GET_CLASS(element), "ice-pacing"));
  g_assert_cmpuint(pacing_spec->minimum, ==, 5);

  g_object_set(element, "user", "alice", "peer", "bob", "stun-server", "stun://127.0.0.1:3478",
               "ice-addresses", "127.0.0.1,::1", "latency", 50u, "lip-sync", FALSE, nullptr);
  g_autofree char *user = nullptr, *peer = nullptr, *stun = nullptr, *addresses = nullptr;
  g_object_get(element, "user", &user, "peer", &peer, "stun-server", &stun, "ice-addresses",
               &addresses, "latency", &latency, "lip-sync", &lip_sync, nullptr);
  g_assert_cmpstr(user, ==, "alice");
  g_assert_cmpstr(peer, ==, "bob");
  g_assert_cmpstr(stun, ==, "stun://127.0.0.1:3478");
  g_assert_cmpstr(addresses, ==, "127.0.0.1,::1");
  g_assert_cmpuint(latency, ==, 50);
  g_assert_false(lip_sync);

  // Read-only state.
  GParamSpec *state = g_object_class_find_property(G_OBJECT_GET_CLASS(element), "call-state");
  g_assert_nonnull(state);
  g_assert_false(state->flags & G_PARAM_WRITABLE);
  gint value = -1;
  g_object_get(element, "call-state", &value, nullptr);
  g_assert_cmpint(value, ==, 0); // idle
  GEnumClass *states = G_ENUM_CLASS(g_type_class_ref(G_PARAM_SPEC_VALUE_TYPE(state)));
  for (const char *nick :
       {"idle", "connecting", "logged-in", "calling", "ringing", "in-call", "ended"})
    g_assert_nonnull(g_enum_get_value_by_nick(states, nick));
  g_type_class_unref(states);
}

void test_signals_exist() {
  g_autoptr(GstElement) element = make();
  for (const char *action : {"call", "hangup", "answer", "reject"}) {
    guint id = g_signal_lookup(action, G_OBJECT_TYPE(element));
    g_assert_cmpuint(id, !=, 0);
    GSignalQuery query;
    g_signal_query(id, &query);
    g_assert_true(query.signal_flags & G_SIGNAL_ACTION);
  }
  g_assert_cmpuint(g_signal_lookup("incoming-call", G_OBJECT_TYPE(element)), !=, 0);
  // Actions before the element is started are refused quietly, never a crash.
  g_signal_emit_by_name(element, "call", "bob");
  g_signal_emit_by_name(element, "hangup");
  g_signal_emit_by_name(element, "answer");
  g_signal_emit_by_name(element, "reject");
}

void test_missing_user_fails_to_start() {
  g_autoptr(GstElement) pipeline = gst_pipeline_new(nullptr);
  GstElement *element = gst_element_factory_make("webrtccall", nullptr);
  gst_bin_add(GST_BIN(pipeline), element);
  g_assert_cmpint(gst_element_set_state(pipeline, GST_STATE_PLAYING), ==, GST_STATE_CHANGE_FAILURE);
  g_autoptr(GstBus) bus = gst_element_get_bus(pipeline);
  g_autoptr(GstMessage) message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  g_assert_nonnull(message);
  g_autoptr(GError) error = nullptr;
  gst_message_parse_error(message, &error, nullptr);
  g_assert_true(g_error_matches(error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS));
  g_assert_nonnull(strstr(error->message, "set the user property"));
  gst_element_set_state(pipeline, GST_STATE_NULL);
}

// No server on that port: up and down many times, quickly, without a hang.
void test_state_changes_without_server() {
  g_autoptr(GstElement) pipeline = gst_parse_launch(
      "webrtccall name=call user=alice peer=bob server=ws://127.0.0.1:1 reconnect-timeout=5 "
      "videotestsrc is-live=true ! vp8enc deadline=1 ! call.video_sink_0",
      nullptr);
  g_assert_nonnull(pipeline);
  GstState states[] = {GST_STATE_READY,   GST_STATE_PAUSED,  GST_STATE_PLAYING,
                       GST_STATE_NULL,    GST_STATE_PLAYING, GST_STATE_READY,
                       GST_STATE_PLAYING, GST_STATE_PAUSED,  GST_STATE_NULL};
  for (int round = 0; round < 3; round++) {
    for (GstState state : states) {
      GstStateChangeReturn result = gst_element_set_state(pipeline, state);
      g_assert_cmpint(result, !=, GST_STATE_CHANGE_FAILURE);
    }
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
}

// With reconnect-timeout=0 an unreachable server is an error at once.
void test_unreachable_server_fails_at_once() {
  g_autoptr(GstElement) pipeline = gst_parse_launch(
      "webrtccall name=call user=alice server=ws://127.0.0.1:1 reconnect-timeout=0", nullptr);
  GstElement *only = pipeline;
  if (!GST_IS_PIPELINE(only)) {
    pipeline = gst_pipeline_new(nullptr);
    gst_bin_add(GST_BIN(pipeline), only);
  }
  gint64 start = g_get_monotonic_time();
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  g_autoptr(GstBus) bus = gst_element_get_bus(pipeline);
  g_autoptr(GstMessage) message =
      gst_bus_timed_pop_filtered(bus, 5 * GST_SECOND, GST_MESSAGE_ERROR);
  g_assert_nonnull(message);
  g_assert_cmpint((g_get_monotonic_time() - start) / 1000, <, 2000);
  g_autoptr(GError) error = nullptr;
  gst_message_parse_error(message, &error, nullptr);
  g_assert_true(g_error_matches(error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ_WRITE));
  gst_element_set_state(pipeline, GST_STATE_NULL);
}

void test_bad_server_url_is_an_error() {
  g_autoptr(GstElement) pipeline = gst_pipeline_new(nullptr);
  GstElement *element = gst_element_factory_make("webrtccall", nullptr);
  g_object_set(element, "user", "alice", "server", "not a url", "reconnect-timeout", 0u, nullptr);
  gst_bin_add(GST_BIN(pipeline), element);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  g_autoptr(GstBus) bus = gst_element_get_bus(pipeline);
  g_autoptr(GstMessage) message =
      gst_bus_timed_pop_filtered(bus, 5 * GST_SECOND, GST_MESSAGE_ERROR);
  g_assert_nonnull(message);
  g_autoptr(GError) error = nullptr;
  g_autofree char *debug = nullptr;
  gst_message_parse_error(message, &error, &debug);
  g_assert_nonnull(strstr(debug, "not valid"));
  gst_element_set_state(pipeline, GST_STATE_NULL);
}

// Between calls the element drops what comes in: upstream never sees an
// error, so encoders and sources keep running until a call starts.
void test_media_outside_a_call_is_dropped_without_error() {
  GstElement *element = gst_element_factory_make("webrtccall", nullptr);
  g_object_set(element, "user", "alice", "server", "ws://127.0.0.1:1", "reconnect-timeout", 60u,
               nullptr);
  GstHarness *harness = gst_harness_new_with_element(element, "video_sink_%u", nullptr);
  // The harness takes a reference of its own (transfer none) and does not sink ours: drop
  // the factory's floating one, or the element outlives the teardown (LeakSanitizer found it).
  gst_object_unref(element);
  gst_harness_set_src_caps_str(harness, "video/x-vp8,width=320,height=240,framerate=30/1");
  for (int i = 0; i < 50; i++) {
    GstBuffer *buffer = gst_harness_create_buffer(harness, 1000);
    GST_BUFFER_PTS(buffer) = i * GST_SECOND / 30;
    g_assert_cmpint(gst_harness_push(harness, buffer), ==, GST_FLOW_OK);
  }
  // EOS on the only sink pad is taken as a hang-up, not passed to webrtcbin.
  g_assert_true(gst_harness_push_event(harness, gst_event_new_eos()));
  gst_harness_teardown(harness);
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/element/registered-with-pad-templates", test_registered_with_pad_templates);
  g_test_add_func("/element/request-and-release-pads", test_request_and_release_pads);
  g_test_add_func("/element/properties", test_properties_have_defaults_and_round_trip);
  g_test_add_func("/element/signals", test_signals_exist);
  g_test_add_func("/element/missing-user-fails-to-start", test_missing_user_fails_to_start);
  g_test_add_func("/element/state-changes-without-server", test_state_changes_without_server);
  g_test_add_func("/element/unreachable-server-fails-at-once",
                  test_unreachable_server_fails_at_once);
  g_test_add_func("/element/bad-server-url", test_bad_server_url_is_an_error);
  g_test_add_func("/element/media-outside-a-call-is-dropped",
                  test_media_outside_a_call_is_dropped_without_error);
  return g_test_run();
}
