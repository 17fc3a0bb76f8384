/**
 * SECTION:element-webrtccall
 * @title: webrtccall
 *
 * A bin around webrtcbin that logs in to a signaling server (the protocol of
 * docs/protocol.md), calls or answers another user, negotiates the call and
 * hangs up. Encoded media enters on request sink pads; the peer's media
 * leaves on sometimes src pads.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -e webrtccall name=call server=ws://127.0.0.1:9090 user=alice peer=bob \
 *   videotestsrc is-live=true ! vp8enc deadline=1 ! call.video_sink_0 \
 *   audiotestsrc is-live=true ! opusenc ! call.audio_sink_0 \
 *   call.video_src_0 ! videoconvert ! autovideosink  call.audio_src_0 ! audioconvert !
 * autoaudiosink
 * ]|
 * The same with user=bob and no peer answers it.
 */
#include "gstwebrtccall.h"

#include "call_controller.hpp"
#include "codecs.hpp"
#include "debug.hpp"
#include "element_context.hpp"
#include "ice_pacing.hpp"
#include "sink_input.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

GST_DEBUG_CATEGORY(gst_webrtc_call_debug);

using namespace webrtccall;

namespace {

constexpr const char *kDefaultServer = "ws://127.0.0.1:9090";
constexpr unsigned kDefaultLatency = 200;
constexpr unsigned kDefaultIcePacing = kMinIcePacingMs;
constexpr unsigned kDefaultCallTimeout = 30;
constexpr unsigned kDefaultReconnectTimeout = 10;
constexpr unsigned kDefaultStatsInterval = 1000;
constexpr unsigned kDefaultMediaTimeout = 5;
// How long a state change waits for the signaling thread to hang up and close.
constexpr int kStopTimeoutMs = 3000;

enum {
  PROP_0,
  PROP_SERVER,
  PROP_USER,
  PROP_TOKEN,
  PROP_PEER,
  PROP_AUTO_ANSWER,
  PROP_STUN_SERVER,
  PROP_TURN_SERVER,
  PROP_ICE_ADDRESSES,
  PROP_UPNP,
  PROP_ICE_TCP,
  PROP_ICE_PACING,
  PROP_LATENCY,
  PROP_LIP_SYNC,
  PROP_CALL_TIMEOUT,
  PROP_RECONNECT_TIMEOUT,
  PROP_TLS_CA_FILE,
  PROP_TLS_INSECURE,
  PROP_END_ON_HANGUP,
  PROP_DECODE,
  PROP_STATS_INTERVAL,
  PROP_MEDIA_TIMEOUT,
  PROP_CALL_STATE,
  PROP_REMOTE_USER,
};

enum { SIGNAL_INCOMING_CALL, SIGNAL_CALL, SIGNAL_HANGUP, SIGNAL_ANSWER, SIGNAL_REJECT, N_SIGNALS };
guint signals[N_SIGNALS];
GParamSpec *state_pspec;
GParamSpec *remote_user_pspec;

const GEnumValue kStateValues[] = {
    {int(CallState::kIdle), "Not started", "idle"},
    {int(CallState::kConnecting), "Connecting to the signaling server", "connecting"},
    {int(CallState::kLoggedIn), "Logged in, no call", "logged-in"},
    {int(CallState::kCalling), "Calling the peer", "calling"},
    {int(CallState::kRinging), "A call is coming in", "ringing"},
    {int(CallState::kInCall), "In a call", "in-call"},
    {int(CallState::kEnded), "The call has ended", "ended"},
    {0, nullptr, nullptr},
};

const char *state_nick(CallState state) {
  return kStateValues[int(state)].value_nick;
}

GstCaps *media_caps(MediaKind kind, const char *raw) {
  GstCaps *caps = gst_caps_new_empty();
  if (raw)
    gst_caps_append(caps, gst_caps_new_empty_simple(raw));
  for (const auto &codec : all_codecs())
    if (codec.kind == kind)
      gst_caps_append(caps, gst_caps_new_empty_simple(codec.media_type));
  return caps;
}

} // namespace

struct GstWebRTCCallPrivate;

struct _GstWebRTCCall {
  GstBin parent;
  GstWebRTCCallPrivate *priv; // new in _init, delete in _finalize
};

// The element's face to the controller: runs on the signaling thread.
class Hooks final : public ElementHooks {
public:
  explicit Hooks(GstWebRTCCall *self) : self_(self) {}
  void state_changed(CallState state, const std::string &peer, const std::string &reason) override;
  void incoming_call(const std::string &caller) override;
  void failure(FailureKind kind, const std::string &reason, const std::string &message,
               const std::string &detail) override;
  void post_stats(GstStructure *stats) override;
  std::vector<std::shared_ptr<SinkInput>> inputs() override;

private:
  GstWebRTCCall *self_;
};

struct GstWebRTCCallPrivate {
  std::mutex lock; // guards the settings, the state and the inputs below
  std::string server{kDefaultServer};
  std::string user;
  std::string token;
  std::string peer;
  bool auto_answer = true;
  std::string stun_server;
  std::string turn_server;
  std::string ice_addresses;
  bool upnp = false;
  bool ice_tcp = true;
  unsigned ice_pacing = kDefaultIcePacing;
  unsigned latency = kDefaultLatency;
  bool lip_sync = true;
  unsigned call_timeout = kDefaultCallTimeout;
  unsigned reconnect_timeout = kDefaultReconnectTimeout;
  std::string tls_ca_file;
  bool tls_insecure = false;
  bool end_on_hangup = true;
  bool decode = true;
  unsigned stats_interval = kDefaultStatsInterval;
  unsigned media_timeout = kDefaultMediaTimeout;
  CallState state = CallState::kIdle;
  std::string remote_user;
  std::vector<std::shared_ptr<SinkInput>> inputs; // a call shares them while it lasts

  std::unique_ptr<ElementContext> context;    // from READY up
  std::shared_ptr<CallController> controller; // from PAUSED up; lives on the context
  std::unique_ptr<Hooks> hooks;
};

G_DEFINE_TYPE(GstWebRTCCall, gst_webrtc_call, GST_TYPE_BIN);
GST_ELEMENT_REGISTER_DEFINE(webrtccall, "webrtccall", GST_RANK_NONE, GST_TYPE_WEBRTC_CALL);

GType gst_webrtc_call_state_get_type(void) {
  static GType type = 0;
  if (g_once_init_enter(&type)) {
    GType registered = g_enum_register_static("GstWebRTCCallState", kStateValues);
    g_once_init_leave(&type, registered);
  }
  return type;
}

// --- hooks (signaling thread)

void Hooks::state_changed(CallState state, const std::string &peer, const std::string &reason) {
  GstWebRTCCallPrivate *priv = self_->priv;
  bool peer_changed;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    priv->state = state;
    peer_changed = priv->remote_user != peer;
    priv->remote_user = peer;
  }
  GST_INFO_OBJECT(self_, "state %s (peer %s%s%s)", state_nick(state), peer.c_str(),
                  reason.empty() ? "" : ", ", reason.c_str());
  g_object_notify_by_pspec(G_OBJECT(self_), state_pspec);
  if (peer_changed)
    g_object_notify_by_pspec(G_OBJECT(self_), remote_user_pspec);
  GstStructure *s = gst_structure_new("webrtccall-state", "state", G_TYPE_STRING, state_nick(state),
                                      "peer", G_TYPE_STRING, peer.c_str(), "reason", G_TYPE_STRING,
                                      reason.c_str(), nullptr);
  gst_element_post_message(GST_ELEMENT(self_), gst_message_new_element(GST_OBJECT(self_), s));
}

void Hooks::incoming_call(const std::string &caller) {
  g_signal_emit(self_, signals[SIGNAL_INCOMING_CALL], 0, caller.c_str());
}

void Hooks::failure(FailureKind kind, const std::string &reason, const std::string &message,
                    const std::string &detail) {
  // Without end-on-hangup only a call that cannot happen is a warning: the
  // element stays useful. A server it cannot use, a taken name or a missing
  // plugin leave it useless, so they stay errors.
  bool as_error = kind != FailureKind::kCall;
  {
    std::lock_guard<std::mutex> guard(self_->priv->lock);
    as_error = as_error || self_->priv->end_on_hangup;
  }
  GQuark domain = GST_RESOURCE_ERROR;
  int code = GST_RESOURCE_ERROR_FAILED;
  switch (kind) {
  case FailureKind::kServer:
    code = GST_RESOURCE_ERROR_OPEN_READ_WRITE;
    break;
  case FailureKind::kNameTaken:
    code = GST_RESOURCE_ERROR_BUSY;
    break;
  case FailureKind::kSettings:
    code = GST_RESOURCE_ERROR_SETTINGS;
    break;
  case FailureKind::kMissingPlugin:
    domain = GST_CORE_ERROR;
    code = GST_CORE_ERROR_MISSING_PLUGIN;
    break;
  case FailureKind::kCall:
    break;
  }
  GstStructure *details =
      gst_structure_new("details", "reason", G_TYPE_STRING, reason.c_str(), nullptr);
  GError *error = g_error_new_literal(domain, code, message.c_str());
  GstMessage *msg =
      as_error
          ? gst_message_new_error_with_details(GST_OBJECT(self_), error, detail.c_str(), details)
          : gst_message_new_warning_with_details(GST_OBJECT(self_), error, detail.c_str(), details);
  g_error_free(error);
  GST_WARNING_OBJECT(self_, "%s (%s): %s", message.c_str(), reason.c_str(), detail.c_str());
  gst_element_post_message(GST_ELEMENT(self_), msg);
}

void Hooks::post_stats(GstStructure *stats) {
  gst_element_post_message(GST_ELEMENT(self_), gst_message_new_element(GST_OBJECT(self_), stats));
}

std::vector<std::shared_ptr<SinkInput>> Hooks::inputs() {
  std::lock_guard<std::mutex> guard(self_->priv->lock);
  return self_->priv->inputs;
}

// --- properties

static void gst_webrtc_call_set_property(GObject *object, guint prop_id, const GValue *value,
                                         GParamSpec *pspec) {
  GstWebRTCCallPrivate *priv = GST_WEBRTC_CALL(object)->priv;
  std::lock_guard<std::mutex> guard(priv->lock);
  auto string = [value] {
    const char *text = g_value_get_string(value);
    return std::string(text ? text : "");
  };
  switch (prop_id) {
  case PROP_SERVER:
    priv->server = string();
    break;
  case PROP_USER:
    priv->user = string();
    break;
  case PROP_PEER:
    priv->peer = string();
    break;
  case PROP_AUTO_ANSWER:
    priv->auto_answer = g_value_get_boolean(value);
    break;
  case PROP_STUN_SERVER:
    priv->stun_server = string();
    break;
  case PROP_TURN_SERVER:
    priv->turn_server = string();
    break;
  case PROP_ICE_ADDRESSES:
    priv->ice_addresses = string();
    break;
  case PROP_UPNP:
    priv->upnp = g_value_get_boolean(value);
    break;
  case PROP_ICE_TCP:
    priv->ice_tcp = g_value_get_boolean(value);
    break;
  case PROP_ICE_PACING:
    priv->ice_pacing = g_value_get_uint(value);
    break;
  case PROP_LATENCY:
    priv->latency = g_value_get_uint(value);
    break;
  case PROP_LIP_SYNC:
    priv->lip_sync = g_value_get_boolean(value);
    break;
  case PROP_CALL_TIMEOUT:
    priv->call_timeout = g_value_get_uint(value);
    break;
  case PROP_RECONNECT_TIMEOUT:
    priv->reconnect_timeout = g_value_get_uint(value);
    break;
  case PROP_TLS_CA_FILE:
    priv->tls_ca_file = string();
    break;
  case PROP_TOKEN:
    priv->token = string();
    break;
  case PROP_TLS_INSECURE:
    priv->tls_insecure = g_value_get_boolean(value);
    break;
  case PROP_END_ON_HANGUP:
    priv->end_on_hangup = g_value_get_boolean(value);
    break;
  case PROP_DECODE:
    priv->decode = g_value_get_boolean(value);
    break;
  case PROP_STATS_INTERVAL:
    priv->stats_interval = g_value_get_uint(value);
    break;
  case PROP_MEDIA_TIMEOUT:
    priv->media_timeout = g_value_get_uint(value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_webrtc_call_get_property(GObject *object, guint prop_id, GValue *value,
                                         GParamSpec *pspec) {
  GstWebRTCCallPrivate *priv = GST_WEBRTC_CALL(object)->priv;
  std::lock_guard<std::mutex> guard(priv->lock);
  switch (prop_id) {
  case PROP_SERVER:
    g_value_set_string(value, priv->server.c_str());
    break;
  case PROP_USER:
    g_value_set_string(value, priv->user.c_str());
    break;
  case PROP_PEER:
    g_value_set_string(value, priv->peer.c_str());
    break;
  case PROP_AUTO_ANSWER:
    g_value_set_boolean(value, priv->auto_answer);
    break;
  case PROP_STUN_SERVER:
    g_value_set_string(value, priv->stun_server.c_str());
    break;
  case PROP_TURN_SERVER:
    g_value_set_string(value, priv->turn_server.c_str());
    break;
  case PROP_ICE_ADDRESSES:
    g_value_set_string(value, priv->ice_addresses.c_str());
    break;
  case PROP_UPNP:
    g_value_set_boolean(value, priv->upnp);
    break;
  case PROP_ICE_TCP:
    g_value_set_boolean(value, priv->ice_tcp);
    break;
  case PROP_ICE_PACING:
    g_value_set_uint(value, priv->ice_pacing);
    break;
  case PROP_LATENCY:
    g_value_set_uint(value, priv->latency);
    break;
  case PROP_LIP_SYNC:
    g_value_set_boolean(value, priv->lip_sync);
    break;
  case PROP_CALL_TIMEOUT:
    g_value_set_uint(value, priv->call_timeout);
    break;
  case PROP_RECONNECT_TIMEOUT:
    g_value_set_uint(value, priv->reconnect_timeout);
    break;
  case PROP_TLS_CA_FILE:
    g_value_set_string(value, priv->tls_ca_file.c_str());
    break;
  case PROP_TOKEN:
    g_value_set_string(value, priv->token.c_str());
    break;
  case PROP_TLS_INSECURE:
    g_value_set_boolean(value, priv->tls_insecure);
    break;
  case PROP_END_ON_HANGUP:
    g_value_set_boolean(value, priv->end_on_hangup);
    break;
  case PROP_DECODE:
    g_value_set_boolean(value, priv->decode);
    break;
  case PROP_STATS_INTERVAL:
    g_value_set_uint(value, priv->stats_interval);
    break;
  case PROP_MEDIA_TIMEOUT:
    g_value_set_uint(value, priv->media_timeout);
    break;
  case PROP_CALL_STATE:
    g_value_set_enum(value, int(priv->state));
    break;
  case PROP_REMOTE_USER:
    g_value_set_string(value, priv->remote_user.c_str());
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

// --- pads

static GstPad *gst_webrtc_call_request_new_pad(GstElement *element, GstPadTemplate *templ,
                                               const char *name, const GstCaps *) {
  auto *self = GST_WEBRTC_CALL(element);
  GstWebRTCCallPrivate *priv = self->priv;
  const char *template_name = GST_PAD_TEMPLATE_NAME_TEMPLATE(templ);
  MediaKind kind = g_str_has_prefix(template_name, "video") ? MediaKind::kVideo : MediaKind::kAudio;
  std::string pad_name;
  if (name) {
    pad_name = name;
  } else {
    for (unsigned i = 0;; i++) {
      pad_name = std::string(to_string(kind)) + "_sink_" + std::to_string(i);
      GstPad *existing = gst_element_get_static_pad(element, pad_name.c_str());
      if (!existing)
        break;
      gst_object_unref(existing);
    }
  }
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    if (priv->controller && priv->state != CallState::kLoggedIn &&
        priv->state != CallState::kConnecting && priv->state != CallState::kIdle) {
      GST_WARNING_OBJECT(self, "%s requested during a call: it joins the next call",
                         pad_name.c_str());
    }
  }
  auto input = std::make_shared<SinkInput>(GST_BIN(self), kind, templ, pad_name);
  GstPad *ghost = input->ghost();
  input->set_on_eos([self] {
    GstWebRTCCallPrivate *priv = self->priv;
    std::lock_guard<std::mutex> guard(priv->lock);
    for (auto &each : priv->inputs)
      if (!each->at_eos())
        return;
    if (priv->context && priv->controller)
      priv->context->invoke([weak = std::weak_ptr<CallController>(priv->controller)] {
        if (auto controller = weak.lock())
          controller->end();
      });
  });
  gst_pad_set_active(ghost, TRUE);
  if (!gst_element_add_pad(element, ghost)) {
    GST_WARNING_OBJECT(self, "a pad named %s exists already", pad_name.c_str());
    return nullptr;
  }
  std::lock_guard<std::mutex> guard(priv->lock);
  priv->inputs.push_back(std::move(input));
  return ghost;
}

static void gst_webrtc_call_release_pad(GstElement *element, GstPad *pad) {
  auto *self = GST_WEBRTC_CALL(element);
  std::shared_ptr<SinkInput> released;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    auto &inputs = self->priv->inputs;
    for (auto it = inputs.begin(); it != inputs.end(); ++it) {
      if ((*it)->ghost() == pad) {
        released = std::move(*it);
        inputs.erase(it);
        break;
      }
    }
  }
  gst_pad_set_active(pad, FALSE);
  gst_element_remove_pad(element, pad);
  // released goes here, removing its queue, unless a call still holds it
}

// --- state changes

static ControllerSettings snapshot_settings(GstWebRTCCallPrivate *priv) {
  std::lock_guard<std::mutex> guard(priv->lock);
  ControllerSettings s;
  s.server = priv->server;
  s.user = priv->user;
  s.token = priv->token;
  s.peer = priv->peer;
  s.auto_answer = priv->auto_answer;
  s.call_timeout_s = priv->call_timeout;
  s.reconnect_timeout_s = priv->reconnect_timeout;
  s.tls.ca_file = priv->tls_ca_file;
  s.tls.insecure = priv->tls_insecure;
  s.end_on_hangup = priv->end_on_hangup;
  s.stats_interval_ms = priv->stats_interval;
  s.call.stun_server = priv->stun_server;
  s.call.turn_server = priv->turn_server;
  s.call.upnp = priv->upnp;
  s.call.ice_tcp = priv->ice_tcp;
  s.call.ice_pacing_ms = priv->ice_pacing;
  s.call.latency_ms = priv->latency;
  s.call.lip_sync = priv->lip_sync;
  s.call.decode = priv->decode;
  s.call.media_timeout_s = priv->media_timeout;
  g_auto(GStrv) addresses = g_strsplit_set(priv->ice_addresses.c_str(), ", ", -1);
  for (char **address = addresses; *address; address++)
    if (**address)
      s.call.ice_addresses.push_back(*address);
  return s;
}

// webrtcbin makes its DTLS certificate (RSA-2048, up to 1.6 s here) on first
// use in a process, inside the first call's set-up: dtlsdec's default agent,
// made once per process. Making a dtlsdec makes it. That is done once per
// process, at the first NULL to READY, on a thread of its own, so that
// neither the state change nor the login (the signaling thread) waits for
// it; a call placed before it is done waits only for the rest. The thread is
// joined at READY to NULL, so that it never outlives the elements.
namespace {
struct DtlsWarmUp {
  std::mutex lock;
  bool started = false;
  GThread *thread = nullptr;
};
DtlsWarmUp dtls_warm_up;
} // namespace

static void warm_up_dtls() {
  std::lock_guard<std::mutex> guard(dtls_warm_up.lock);
  if (dtls_warm_up.started)
    return;
  dtls_warm_up.started = true;
  dtls_warm_up.thread = g_thread_try_new(
      "webrtccall:dtls",
      [](gpointer) -> gpointer {
        gint64 start = g_get_monotonic_time();
        if (GstElement *dtls = gst_element_factory_make("dtlsdec", nullptr))
          gst_object_unref(gst_object_ref_sink(dtls));
        GST_DEBUG("DTLS certificate made in %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time() - start) / 1000);
        return nullptr;
      },
      nullptr, nullptr);
}

static void end_dtls_warm_up() {
  std::lock_guard<std::mutex> guard(dtls_warm_up.lock);
  if (dtls_warm_up.thread)
    g_thread_join(std::exchange(dtls_warm_up.thread, nullptr));
}

static bool start_controller(GstWebRTCCall *self) {
  GstWebRTCCallPrivate *priv = self->priv;
  ControllerSettings settings = snapshot_settings(priv);
  if (settings.user.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("No user name: set the user property to the name to log in as."), (nullptr));
    return false;
  }
  // Made here, started on the signaling thread (its SoupSession belongs there).
  // The closure owns what it uses: it may run after invoke_sync gave up waiting.
  auto controller = std::make_shared<CallController>(GST_ELEMENT(self), *priv->context,
                                                     std::move(settings), *priv->hooks);
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    priv->controller = controller;
  }
  priv->context->invoke([controller] { controller->start(); });
  return true;
}

static void stop_controller(GstWebRTCCall *self) {
  GstWebRTCCallPrivate *priv = self->priv;
  std::shared_ptr<CallController> controller;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    controller = std::move(priv->controller);
  }
  if (!controller || !priv->context)
    return;
  // Hanging up waits on the signaling thread, but never on what is queued
  // after the wait gives up: the closures own what they touch.
  struct Done {
    std::mutex lock;
    std::condition_variable cond;
    bool done = false;
  };
  auto done = std::make_shared<Done>();
  priv->context->invoke([controller, done] {
    controller->stop([done] {
      std::lock_guard<std::mutex> guard(done->lock);
      done->done = true;
      done->cond.notify_all();
    });
  });
  {
    std::unique_lock<std::mutex> guard(done->lock);
    if (!done->cond.wait_for(guard, std::chrono::milliseconds(kStopTimeoutMs),
                             [&] { return done->done; }))
      GST_WARNING_OBJECT(self, "the signaling thread took too long to hang up");
  }
  // The controller and its SoupSession go on the thread that made them; the
  // closure owns the last reference, wherever it runs.
  priv->context->invoke([controller = std::move(controller)]() mutable { controller.reset(); });
  priv->context->invoke([self] { Hooks(self).state_changed(CallState::kIdle, "", ""); });
}

static GstStateChangeReturn gst_webrtc_call_change_state(GstElement *element,
                                                         GstStateChange transition) {
  auto *self = GST_WEBRTC_CALL(element);
  GstWebRTCCallPrivate *priv = self->priv;

  // The signaling thread cannot wait for itself (a state change from a
  // notify::call-state or incoming-call handler): refuse with a reason.
  if (priv->context && priv->context->is_current()) {
    GST_ELEMENT_ERROR(self, CORE, STATE_CHANGE,
                      ("Cannot change state from the element's own signaling thread."),
                      ("Change it from another thread, e.g. with gst_element_call_async()."));
    return GST_STATE_CHANGE_FAILURE;
  }

  switch (transition) {
  case GST_STATE_CHANGE_NULL_TO_READY: {
    g_autofree char *name = gst_object_get_name(GST_OBJECT(self));
    auto context = std::make_unique<ElementContext>(std::string(name) + ":signaling");
    warm_up_dtls();
    std::lock_guard<std::mutex> guard(priv->lock);
    priv->context = std::move(context);
    break;
  }
  case GST_STATE_CHANGE_READY_TO_PAUSED:
    if (!start_controller(self))
      return GST_STATE_CHANGE_FAILURE;
    break;
  case GST_STATE_CHANGE_PAUSED_TO_READY:
    // Before the bin walks its children: the call's elements leave first.
    stop_controller(self);
    break;
  default:
    break;
  }

  GstStateChangeReturn result =
      GST_ELEMENT_CLASS(gst_webrtc_call_parent_class)->change_state(element, transition);
  if (result == GST_STATE_CHANGE_FAILURE) {
    if (transition == GST_STATE_CHANGE_READY_TO_PAUSED)
      stop_controller(self);
    return result;
  }

  switch (transition) {
  case GST_STATE_CHANGE_READY_TO_PAUSED:
  case GST_STATE_CHANGE_PLAYING_TO_PAUSED:
    // Like a live source: the peer's media comes when it comes.
    result = GST_STATE_CHANGE_NO_PREROLL;
    break;
  case GST_STATE_CHANGE_PAUSED_TO_PLAYING: {
    std::lock_guard<std::mutex> guard(priv->lock);
    if (priv->controller)
      priv->context->invoke([weak = std::weak_ptr<CallController>(priv->controller)] {
        if (auto controller = weak.lock())
          controller->playing();
      });
    break;
  }
  case GST_STATE_CHANGE_READY_TO_NULL: {
    stop_controller(self); // normally gone already, at PAUSED to READY
    std::unique_ptr<ElementContext> context;
    {
      std::lock_guard<std::mutex> guard(priv->lock);
      context = std::move(priv->context);
    }
    context.reset(); // stops and joins the thread
    end_dtls_warm_up();
    break;
  }
  default:
    break;
  }
  return result;
}

// --- action signals (any thread): hand over to the signaling thread

template <class Action> static void act(GstWebRTCCall *self, const char *what, Action action) {
  GstWebRTCCallPrivate *priv = self->priv;
  std::lock_guard<std::mutex> guard(priv->lock);
  if (!priv->controller || !priv->context) {
    GST_WARNING_OBJECT(self, "%s: the element is not started (set it to PAUSED or PLAYING)", what);
    return;
  }
  priv->context->invoke([weak = std::weak_ptr<CallController>(priv->controller), action] {
    if (auto controller = weak.lock())
      action(*controller);
  });
}

static void gst_webrtc_call_call(GstWebRTCCall *self, const char *peer) {
  std::string who = peer ? peer : "";
  act(self, "call", [who](CallController &controller) { controller.call(who); });
}

static void gst_webrtc_call_hangup(GstWebRTCCall *self) {
  act(self, "hangup", [](CallController &controller) { controller.hangup(); });
}

static void gst_webrtc_call_answer(GstWebRTCCall *self) {
  act(self, "answer", [](CallController &controller) { controller.answer(); });
}

static void gst_webrtc_call_reject(GstWebRTCCall *self) {
  act(self, "reject", [](CallController &controller) { controller.reject(); });
}

// EOS sent to the element (gst-launch-1.0 -e on Ctrl-C, or an application
// ending its pipeline) hangs up; EOS then leaves on the src pads once the
// call's elements are gone.
static gboolean gst_webrtc_call_send_event(GstElement *element, GstEvent *event) {
  if (GST_EVENT_TYPE(event) != GST_EVENT_EOS)
    return GST_ELEMENT_CLASS(gst_webrtc_call_parent_class)->send_event(element, event);
  gst_event_unref(event);
  act(GST_WEBRTC_CALL(element), "EOS", [](CallController &controller) { controller.end(); });
  return TRUE;
}

// --- class

static void gst_webrtc_call_init(GstWebRTCCall *self) {
  self->priv = new GstWebRTCCallPrivate();
  self->priv->hooks = std::make_unique<Hooks>(self);
  // webrtcbin holds sinks (nicesink), which would make this bin a sink the
  // pipeline waits on for EOS; EOS really comes from the sinks behind our
  // src pads, so gst-launch-1.0 -e ends when they have it.
  // Likewise its nicesrc would make this bin a source, and GstBin would pass
  // the application's EOS (gst-launch-1.0 -e) to it: the peer's media would
  // end while the call goes on. This bin is a source in its own right, and
  // takes EOS as a hang-up (send_event below).
  gst_bin_set_suppressed_flags(GST_BIN(self),
                               GstElementFlags(GST_ELEMENT_FLAG_SINK | GST_ELEMENT_FLAG_SOURCE));
  GST_OBJECT_FLAG_SET(self, GST_ELEMENT_FLAG_SOURCE);
}

static void gst_webrtc_call_dispose(GObject *object) {
  auto *self = GST_WEBRTC_CALL(object);
  // The inputs remove their queues from the bin: before GstBin drops its children.
  std::vector<std::shared_ptr<SinkInput>> inputs; // a call shares them while it lasts
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    inputs.swap(self->priv->inputs);
  }
  inputs.clear();
  G_OBJECT_CLASS(gst_webrtc_call_parent_class)->dispose(object);
}

static void gst_webrtc_call_finalize(GObject *object) {
  auto *self = GST_WEBRTC_CALL(object);
  delete self->priv;
  G_OBJECT_CLASS(gst_webrtc_call_parent_class)->finalize(object);
}

static void gst_webrtc_call_class_init(GstWebRTCCallClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_webrtc_call_debug, "webrtccall", 0, "WebRTC calling element");

  object_class->set_property = gst_webrtc_call_set_property;
  object_class->get_property = gst_webrtc_call_get_property;
  object_class->dispose = gst_webrtc_call_dispose;
  object_class->finalize = gst_webrtc_call_finalize;
  element_class->change_state = gst_webrtc_call_change_state;
  element_class->request_new_pad = gst_webrtc_call_request_new_pad;
  element_class->release_pad = gst_webrtc_call_release_pad;
  element_class->send_event = gst_webrtc_call_send_event;

  auto flags = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  auto string_prop = [&](guint id, const char *name, const char *nick, const char *blurb,
                         const char *def) {
    g_object_class_install_property(object_class, id,
                                    g_param_spec_string(name, nick, blurb, def, flags));
  };
  auto bool_prop = [&](guint id, const char *name, const char *nick, const char *blurb,
                       gboolean def) {
    g_object_class_install_property(object_class, id,
                                    g_param_spec_boolean(name, nick, blurb, def, flags));
  };
  auto uint_prop = [&](guint id, const char *name, const char *nick, const char *blurb, guint max,
                       guint def) {
    g_object_class_install_property(object_class, id,
                                    g_param_spec_uint(name, nick, blurb, 0, max, def, flags));
  };
  string_prop(PROP_SERVER, "server", "Signaling server",
              "WebSocket URL of the signaling server, e.g. ws://127.0.0.1:9090.", kDefaultServer);
  string_prop(PROP_USER, "user", "User name",
              "The name to log in as; required. Other users call this name.", nullptr);
  string_prop(PROP_TOKEN, "token", "Login token",
              "Login token for a signaling server started with --auth-secret, issued for this "
              "user by the application that runs it. Empty: none.",
              nullptr);
  string_prop(PROP_PEER, "peer", "Peer",
              "The user to call when the element reaches PLAYING, waiting up to call-timeout "
              "for that user to come online. Empty: wait for a call.",
              nullptr);
  bool_prop(PROP_AUTO_ANSWER, "auto-answer", "Auto answer",
            "Answer incoming calls at once. When false, the incoming-call signal is emitted and "
            "the call waits for the answer or reject action.",
            TRUE);
  string_prop(PROP_STUN_SERVER, "stun-server", "STUN server",
              "STUN server for ICE, as stun://host:port. Empty: none.", nullptr);
  string_prop(PROP_TURN_SERVER, "turn-server", "TURN server",
              "TURN server for ICE, as turn(s)://user:password@host:port with the user and "
              "password percent-encoded. Empty: none.",
              nullptr);
  string_prop(PROP_ICE_ADDRESSES, "ice-addresses", "ICE addresses",
              "Comma-separated local IP addresses to gather ICE candidates on, e.g. 127.0.0.1. "
              "Empty: every interface (libnice then skips loopback).",
              nullptr);
  bool_prop(PROP_UPNP, "upnp", "UPnP",
            "Let ICE map ports with UPnP. Off by default: libnice would send SSDP multicast on "
            "every gathering.",
            FALSE);
  bool_prop(PROP_ICE_TCP, "ice-tcp", "ICE-TCP",
            "Also gather TCP candidates (RFC 6544), a way through where UDP is blocked. Media "
            "over TCP stalls behind any lost or late packet, and ICE may pick a TCP pair when a "
            "UDP check is lost; false: UDP only (and TURN, where set).",
            TRUE);
  g_object_class_install_property(
      object_class, PROP_ICE_PACING,
      g_param_spec_uint("ice-pacing", "ICE pacing",
                        "Milliseconds between ICE connectivity checks (RFC 8445's Ta), proposed to "
                        "the peer in the SDP; the higher of the two sides' proposals is used. "
                        "libnice's own 20 ms adds about 45 ms to a call's set-up.",
                        kMinIcePacingMs, kMaxIcePacingMs, kDefaultIcePacing, flags));
  uint_prop(PROP_LATENCY, "latency", "Latency",
            "Jitter buffer size in milliseconds: lower starts the picture sooner and adds less "
            "delay, higher rides out more network jitter.",
            10000, kDefaultLatency);
  bool_prop(PROP_LIP_SYNC, "lip-sync", "Lip-sync",
            "Play the peer's audio and video in step, delaying whichever is ahead (from its RTCP "
            "sender reports). When false each plays as soon as it can: the lowest video delay, "
            "with sound and picture apart by the difference of their delays (tens of ms).",
            TRUE);
  uint_prop(PROP_CALL_TIMEOUT, "call-timeout", "Call timeout",
            "Seconds to wait for the peer to come online and answer (and for an incoming call "
            "to be answered). 0: wait forever.",
            3600, kDefaultCallTimeout);
  uint_prop(PROP_RECONNECT_TIMEOUT, "reconnect-timeout", "Reconnect timeout",
            "Seconds to keep retrying, with backoff, a signaling server that cannot be reached "
            "or was lost. 0: fail at once.",
            3600, kDefaultReconnectTimeout);
  string_prop(PROP_TLS_CA_FILE, "tls-ca-file", "TLS CA file",
              "PEM file of the certificate authorities trusted for a wss:// server, instead of "
              "the system's. Empty: the system's.",
              nullptr);
  bool_prop(PROP_TLS_INSECURE, "tls-insecure", "TLS insecure",
            "Accept any certificate from a wss:// server. For test servers only: anyone on the "
            "path could read and change the signaling.",
            FALSE);
  bool_prop(PROP_END_ON_HANGUP, "end-on-hangup", "End on hang-up",
            "When the call ends, push EOS on every src pad (so gst-launch-1.0 exits) and treat a "
            "call that cannot happen as an error. When false, src pads are removed at the end "
            "of each call, failures are warnings, and the element stays logged in for the next "
            "call.",
            TRUE);
  bool_prop(PROP_DECODE, "decode", "Decode",
            "Decode the peer's media: src pads carry raw video and audio. When false they carry "
            "the encoded media (e.g. video/x-vp8, audio/x-opus) for recording or forwarding.",
            TRUE);
  uint_prop(PROP_STATS_INTERVAL, "stats-interval", "Stats interval",
            "Milliseconds between webrtccall-stats messages on the bus during a call. 0: none.",
            G_MAXUINT, kDefaultStatsInterval);
  uint_prop(PROP_MEDIA_TIMEOUT, "media-timeout", "Media timeout",
            "Seconds without media or RTCP from the peer after which the call ends (reason "
            "media-timeout): the peer froze, crashed or lost its network. 0: never.",
            3600, kDefaultMediaTimeout);
  state_pspec = g_param_spec_enum(
      "call-state", "Call state",
      "Where the element is: idle, connecting, logged-in, calling, ringing, in-call or ended.",
      GST_TYPE_WEBRTC_CALL_STATE, int(CallState::kIdle),
      GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property(object_class, PROP_CALL_STATE, state_pspec);
  remote_user_pspec = g_param_spec_string(
      "remote-user", "Remote user", "The user in the current call, or calling us. Empty: none.",
      nullptr, GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property(object_class, PROP_REMOTE_USER, remote_user_pspec);

  /**
   * GstWebRTCCall::incoming-call:
   * @caller: the caller's user name
   *
   * A call is coming in and auto-answer is false: emit answer or reject.
   * Emitted on the element's signaling thread.
   */
  signals[SIGNAL_INCOMING_CALL] =
      g_signal_new("incoming-call", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, nullptr,
                   nullptr, nullptr, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_CALL] = g_signal_new_class_handler(
      "call", G_TYPE_FROM_CLASS(klass), GSignalFlags(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
      G_CALLBACK(gst_webrtc_call_call), nullptr, nullptr, nullptr, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_HANGUP] = g_signal_new_class_handler(
      "hangup", G_TYPE_FROM_CLASS(klass), GSignalFlags(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
      G_CALLBACK(gst_webrtc_call_hangup), nullptr, nullptr, nullptr, G_TYPE_NONE, 0);
  signals[SIGNAL_ANSWER] = g_signal_new_class_handler(
      "answer", G_TYPE_FROM_CLASS(klass), GSignalFlags(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
      G_CALLBACK(gst_webrtc_call_answer), nullptr, nullptr, nullptr, G_TYPE_NONE, 0);
  signals[SIGNAL_REJECT] = g_signal_new_class_handler(
      "reject", G_TYPE_FROM_CLASS(klass), GSignalFlags(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
      G_CALLBACK(gst_webrtc_call_reject), nullptr, nullptr, nullptr, G_TYPE_NONE, 0);

  GstCaps *caps;
  caps = media_caps(MediaKind::kVideo, nullptr);
  gst_element_class_add_pad_template(
      element_class, gst_pad_template_new("video_sink_%u", GST_PAD_SINK, GST_PAD_REQUEST, caps));
  gst_caps_unref(caps);
  caps = media_caps(MediaKind::kAudio, nullptr);
  gst_element_class_add_pad_template(
      element_class, gst_pad_template_new("audio_sink_%u", GST_PAD_SINK, GST_PAD_REQUEST, caps));
  gst_caps_unref(caps);
  caps = media_caps(MediaKind::kVideo, "video/x-raw");
  gst_element_class_add_pad_template(
      element_class, gst_pad_template_new("video_src_%u", GST_PAD_SRC, GST_PAD_SOMETIMES, caps));
  gst_caps_unref(caps);
  caps = media_caps(MediaKind::kAudio, "audio/x-raw");
  gst_element_class_add_pad_template(
      element_class, gst_pad_template_new("audio_src_%u", GST_PAD_SRC, GST_PAD_SOMETIMES, caps));
  gst_caps_unref(caps);

  gst_element_class_set_static_metadata(
      element_class, "WebRTC call", "Filter/Network/WebRTC",
      "Calls or answers another user through a signaling server: encoded media in on "
      "video_sink_%u and audio_sink_%u, the peer's media out on video_src_%u and audio_src_%u",
      "webrtccall developers");
  gst_type_mark_as_plugin_api(GST_TYPE_WEBRTC_CALL_STATE, GstPluginAPIFlags(0));
}
