#include "call_session.hpp"

#include "codec_match.hpp"
#include "debug.hpp"
#include "ice_pacing.hpp"
#include "remove_element.hpp"
#include "sdp_edits.hpp"

#include <gst/rtp/rtp.h>
#include <gst/webrtc/webrtc.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace webrtccall {

namespace {

using Weak = std::weak_ptr<CallSession>;

// How long offer() and accept_offer() wait for a sink pad's caps.
constexpr unsigned kCodecWaitMs = 100;
constexpr unsigned kCodecWaits = 50;
// How long create_description() waits for the senders' caps at webrtcbin
// before making the description without them.
constexpr unsigned kCapsWaitMs = 2000;

void free_weak(gpointer data, GClosure *) {
  delete static_cast<Weak *>(data);
}

using StructurePtr = std::shared_ptr<GstStructure>;
using MediaClock = std::shared_ptr<std::atomic<gint64>>; // see CallSession::last_media_us_
using InFlight = std::shared_ptr<std::atomic<int>>;      // see CallSession::stats_in_flight_

// A notify::caps handler's data: which session to tell, on which thread.
struct CapsWatch {
  Weak session;
  ElementContext *context;
};

// How long close() lets get-stats replies in flight finish (they take
// milliseconds; this only bounds a webrtcbin that stopped answering).
constexpr gint64 kStatsDrainUs = 2 * G_USEC_PER_SEC;

// The peer sends nothing until its own DTLS handshake is done, which on a
// lossy path can end seconds after ours: a lost last flight is sent again
// after OpenSSL's retransmission timer, 1 s, then 2, then 4. So the first
// media or RTCP gets this much longer than media-timeout.
constexpr gint64 kFirstMediaGraceUs = 10 * G_USEC_PER_SEC;

// What a depayloader of the peer's media does when a packet is lost for good
// (its NACK or its retransmission lost too).
void prepare_for_loss(GstElement *depayloader, const Codec &codec) {
  // The decoder has no reference until the sender's next keyframe, up to 128
  // frames away at vp8enc's defaults: seconds of frozen or broken picture. The
  // VP8 depayloader can ask for one at once (a PLI), as browsers do; the others
  // are not tried on loss.
  if (g_str_equal(codec.depayloader, "rtpvp8depay"))
    g_object_set(depayloader, "request-keyframe", TRUE, nullptr);
  // rtpvp9depay 1.22 fails on the jitter buffer's lost-packet events: it calls
  // gst_event_writable_structure on an event it does not have (a
  // GStreamer-CRITICAL on the jitter buffer's thread, seen in e2e call's VP9
  // case once NACK was on). It still sees the gap, from the next packet's
  // DISCONT flag.
  if (g_str_equal(codec.depayloader, "rtpvp9depay")) {
    g_autoptr(GstPad) sink = gst_element_get_static_pad(depayloader, "sink");
    gst_pad_add_probe(
        sink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
        [](GstPad *, GstPadProbeInfo *info, gpointer) {
          const GstStructure *s = gst_event_get_structure(GST_PAD_PROBE_INFO_EVENT(info));
          return s && gst_structure_has_name(s, "GstRTPPacketLost") ? GST_PAD_PROBE_DROP
                                                                    : GST_PAD_PROBE_OK;
        },
        nullptr, nullptr);
  }
}

// A promise whose reply reaches `then` on the signaling thread, if the
// session still exists then. The session keeps a reference to every promise
// it is waiting for, so that close() can interrupt them: webrtcbin 1.22
// drops pending promises unanswered when it stops, which GStreamer reports
// as a runtime-check warning.
struct PromiseData {
  Weak session;
  ElementContext *context;
  std::function<void(CallSession &, const GstStructure *)> then;
  InFlight in_flight; // counts the promise until it settles; may be null
};

void on_promise(GstPromise *promise, gpointer data) {
  auto *d = static_cast<PromiseData *>(data);
  StructurePtr reply;
  if (gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED && gst_promise_get_reply(promise))
    reply.reset(gst_structure_copy(gst_promise_get_reply(promise)), gst_structure_free);
  if (d->in_flight)
    d->in_flight->fetch_sub(1);
  d->context->invoke([session = d->session, then = d->then, reply, promise] {
    if (auto alive = session.lock()) {
      alive->forget_promise(promise);
      then(*alive, reply.get());
    }
  });
}

// The error in a promise reply, or "" if it succeeded.
std::string promise_error(const GstStructure *reply, const char *what) {
  if (!reply)
    return std::string(what) + ": webrtcbin gave no reply";
  if (!gst_structure_has_field(reply, "error"))
    return {};
  GError *error = nullptr;
  gst_structure_get(reply, "error", G_TYPE_ERROR, &error, nullptr);
  std::string text = std::string(what) + ": " + (error ? error->message : "unknown error");
  g_clear_error(&error);
  return text;
}

// The codec names an m-line offers, known to us or not, e.g. "H264, AV1".
std::string codec_names(const GstSDPMedia *media) {
  std::string names;
  for (guint i = 0; i < gst_sdp_media_formats_len(media); i++) {
    int pt = std::atoi(gst_sdp_media_get_format(media, i));
    g_autoptr(GstCaps) caps = gst_sdp_media_get_caps_from_media(media, pt);
    const char *name =
        caps ? gst_structure_get_string(gst_caps_get_structure(caps, 0), "encoding-name") : nullptr;
    if (!name || names.find(name) != std::string::npos)
      continue;
    names += names.empty() ? "" : ", ";
    names += name;
  }
  return names.empty() ? "none" : names;
}

// Whether `media` has the attribute `key`, with or without a value.
bool has_attribute(const GstSDPMedia *media, const char *key) {
  for (guint i = 0; i < gst_sdp_media_attributes_len(media); i++)
    if (g_strcmp0(gst_sdp_media_get_attribute(media, i)->key, key) == 0)
      return true;
  return false;
}

// Video asks for lost packets again (NACK) and resends them on request
// (RTX), as browsers do: without it webrtcbin leaves nack out of the SDP,
// and every lost packet costs a frozen picture until the next keyframe.
// Audio is not worth a round trip: Opus hides a lost packet better.
void enable_retransmission(GstWebRTCRTPTransceiver *transceiver, MediaKind kind) {
  if (kind == MediaKind::kVideo &&
      g_object_class_find_property(G_OBJECT_GET_CLASS(transceiver), "do-nack"))
    g_object_set(transceiver, "do-nack", TRUE, nullptr);
}

// Numbers every packet for transport-wide congestion control when the
// description gives the extension an id (0: it does not).
void add_twcc_extension(GstElement *payloader, int id) {
  if (id <= 0)
    return;
  GstElement *extension = gst_element_factory_make("rtphdrexttwcc", nullptr);
  if (!extension)
    return; // GStreamer's good plugins lack it: the peer then guesses its bandwidth
  gst_rtp_header_extension_set_id(GST_RTP_HEADER_EXTENSION(extension), guint(id));
  g_signal_emit_by_name(payloader, "add-extension", extension);
  gst_object_unref(gst_object_ref_sink(extension));
}

// Payloader settings browsers need, by property so that one place serves
// every codec.
void configure_payloader(GstElement *payloader, int pt) {
  g_object_set(payloader, "pt", guint(pt), "mtu", guint(1200), nullptr);
  auto has = [payloader](const char *name) {
    return g_object_class_find_property(G_OBJECT_GET_CLASS(payloader), name) != nullptr;
  };
  // Chrome stutters on VP8 without a 15-bit picture id.
  if (has("picture-id-mode"))
    gst_util_set_object_arg(G_OBJECT(payloader), "picture-id-mode", "15-bit");
  // H.264: SPS and PPS before every keyframe, so a receiver that joins or
  // loses packets can decode from the next one; no waiting to aggregate.
  if (has("config-interval"))
    g_object_set(payloader, "config-interval", -1, nullptr);
  if (has("aggregate-mode"))
    gst_util_set_object_arg(G_OBJECT(payloader), "aggregate-mode", "zero-latency");
}

} // namespace

CallSession::CallSession(GstElement *element, ElementContext &context, CallConfig config,
                         std::vector<std::shared_ptr<SinkInput>> inputs, std::string peer,
                         Events events)
    : element_(element), context_(context), config_(std::move(config)),
      input_owners_(std::move(inputs)), peer_(std::move(peer)), events_(std::move(events)) {
  for (const auto &input : input_owners_)
    inputs_.push_back(input.get());
}

CallSession::~CallSession() {
  close(false);
  remove_outputs();
}

bool CallSession::start() {
  webrtc_ = gst_element_factory_make("webrtcbin", nullptr);
  if (!webrtc_) {
    fail("missing-plugin", "The webrtcbin element is missing. Install GStreamer's bad plugins "
                           "(gstreamer1.0-plugins-bad) and libnice (gstreamer1.0-nice).");
    return false;
  }
  g_object_set(webrtc_, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, "latency",
               config_.latency_ms, nullptr);
  // The element's own servers win over the signaling server's.
  const std::string &stun =
      config_.stun_server.empty() ? config_.signaled_stun_server : config_.stun_server;
  if (!stun.empty())
    g_object_set(webrtc_, "stun-server", stun.c_str(), nullptr);
  if (!config_.turn_server.empty()) {
    g_object_set(webrtc_, "turn-server", config_.turn_server.c_str(), nullptr);
  } else {
    for (const auto &turn : config_.signaled_turn_servers) {
      gboolean added = FALSE;
      g_signal_emit_by_name(webrtc_, "add-turn-server", turn.c_str(), &added);
      if (!added)
        GST_WARNING_OBJECT(element_, "webrtcbin refused the signaling server's TURN server");
    }
  }

  // webrtcbin 1.22 keeps its ICE object as a floating reference: take a
  // plain ref with g_object_get and never sink it (webrtcbin-notes.md).
  GObject *ice = nullptr;
  g_object_get(webrtc_, "ice-agent", &ice, nullptr);
  if (ice) {
    for (const auto &address : config_.ice_addresses) {
      gboolean added = FALSE;
      g_signal_emit_by_name(ice, "add-local-ip-address", address.c_str(), &added);
      if (!added)
        GST_WARNING_OBJECT(element_, "ICE cannot gather on %s", address.c_str());
    }
    g_object_unref(ice);
  }
  // libnice turns UPnP on by default: SSDP multicast on every gather.
  if (GObject *agent = nice_agent_of(webrtc_)) {
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(agent), "upnp"))
      g_object_set(agent, "upnp", gboolean(config_.upnp), nullptr);
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(agent), "ice-tcp"))
      g_object_set(agent, "ice-tcp", gboolean(config_.ice_tcp), nullptr);
    g_object_unref(agent);
  }
  if (!set_ice_pacing(webrtc_, config_.ice_pacing_ms))
    GST_WARNING_OBJECT(element_, "webrtcbin has no libnice agent: ice-pacing is not applied");

  Weak weak = weak_from_this();
  g_signal_connect_data(webrtc_, "on-ice-candidate",
                        G_CALLBACK(+[](GstElement *, guint mline, char *candidate, gpointer data) {
                          if (auto self = static_cast<Weak *>(data)->lock())
                            self->on_ice_candidate(mline, candidate ? candidate : "");
                        }),
                        new Weak(weak), free_weak, GConnectFlags(0));
  g_signal_connect_data(webrtc_, "pad-added",
                        G_CALLBACK(+[](GstElement *, GstPad *pad, gpointer data) {
                          if (auto self = static_cast<Weak *>(data)->lock())
                            self->on_pad_added(pad);
                        }),
                        new Weak(weak), free_weak, GConnectFlags(0));
  g_signal_connect_data(webrtc_, "notify::connection-state",
                        G_CALLBACK(+[](GObject *webrtc, GParamSpec *, gpointer data) {
                          GstWebRTCPeerConnectionState state;
                          g_object_get(webrtc, "connection-state", &state, nullptr);
                          if (auto self = static_cast<Weak *>(data)->lock())
                            self->context_.invoke([weak = *static_cast<Weak *>(data), state] {
                              if (auto self = weak.lock())
                                self->on_connection_state(state);
                            });
                        }),
                        new Weak(weak), free_weak, GConnectFlags(0));

  if (!jitter_buffers_.watch(webrtc_, config_.lip_sync))
    GST_WARNING_OBJECT(element_, "no rtpbin in webrtcbin: its jitter buffers start late, and lost "
                                 "video is not asked for again");
  gst_bin_add(GST_BIN(element_), webrtc_);
  gst_element_sync_state_with_parent(webrtc_);
  return true;
}

void CallSession::fail(std::string reason, std::string message, std::string detail) {
  if (closed_ || failed_)
    return;
  failed_ = true;
  GST_WARNING_OBJECT(element_, "call with %s failed (%s): %s %s", peer_.c_str(), reason.c_str(),
                     message.c_str(), detail.c_str());
  // Reported from the main loop, not from here: the controller ends the call
  // and drops this session, which must not happen while its methods run.
  context_.invoke(
      [weak = weak_from_this(),
       failure = CallFailure{std::move(reason), std::move(message), std::move(detail)}] {
        if (auto self = weak.lock(); self && self->events_.failed)
          self->events_.failed(failure);
      });
}

GstPromise *
CallSession::make_promise(std::function<void(CallSession &, const GstStructure *)> then) {
  GstPromise *promise = gst_promise_new_with_change_func(
      on_promise, new PromiseData{weak_from_this(), &context_, std::move(then), nullptr},
      [](gpointer data) { delete static_cast<PromiseData *>(data); });
  pending_promises_.push_back(gst_promise_ref(promise));
  return promise;
}

void CallSession::forget_promise(GstPromise *promise) {
  auto it = std::find(pending_promises_.begin(), pending_promises_.end(), promise);
  if (it == pending_promises_.end())
    return;
  pending_promises_.erase(it);
  gst_promise_unref(promise);
}

void CallSession::request_stats(std::function<void(const GstStructure *)> done) {
  if (closed_ || !webrtc_)
    return;
  // Not in pending_promises_: close() lets it finish rather than interrupt it.
  stats_in_flight_->fetch_add(1);
  GstPromise *promise = gst_promise_new_with_change_func(
      on_promise,
      new PromiseData{weak_from_this(), &context_,
                      [done](CallSession &self, const GstStructure *reply) {
                        if (!self.closed_ && reply)
                          done(reply);
                      },
                      stats_in_flight_},
      [](gpointer data) { delete static_cast<PromiseData *>(data); });
  g_signal_emit_by_name(webrtc_, "get-stats", nullptr, promise);
  gst_promise_unref(promise);
}

void CallSession::add_sender(SinkInput *input, const Codec &codec, int pt, GstCaps *caps) {
  GstElement *payloader = gst_element_factory_make(codec.payloader, nullptr);
  if (!payloader) {
    fail("missing-plugin", std::string("The ") + codec.payloader +
                               " element is missing. Install GStreamer's good plugins.");
    return;
  }
  configure_payloader(payloader, pt);
  add_twcc_extension(payloader, twcc_extension_id(caps));
  Sender sender{input, {payloader}};
  // rtph264pay states the profile-level-id of the stream's SPS, which can
  // differ from the negotiated one in bytes that do not matter (x264enc's
  // Constrained Baseline is 42c0.., the SDP's 42e0..); webrtcbin's pad takes
  // only the negotiated caps, so they are pinned after the payloader.
  const GstStructure *negotiated = gst_caps_get_structure(caps, 0);
  if (const char *profile = gst_structure_get_string(negotiated, "profile-level-id")) {
    GstElement *pin = gst_element_factory_make("capssetter", nullptr);
    if (!pin) {
      gst_object_unref(gst_object_ref_sink(payloader));
      fail("missing-plugin",
           "The capssetter element is missing. Install GStreamer's good plugins.");
      return;
    }
    g_autoptr(GstCaps) pinned = gst_caps_new_simple("application/x-rtp", "profile-level-id",
                                                    G_TYPE_STRING, profile, nullptr);
    g_object_set(pin, "caps", pinned, nullptr);
    sender.elements.push_back(pin);
  }
  for (GstElement *element : sender.elements) {
    gst_bin_add(GST_BIN(element_), element);
    gst_element_sync_state_with_parent(element);
  }
  for (size_t i = 1; i < sender.elements.size(); i++)
    gst_element_link(sender.elements[i - 1], sender.elements[i]);

  GstPadTemplate *templ = gst_element_get_pad_template(webrtc_, "sink_%u");
  GstPad *sink = gst_element_request_pad(webrtc_, templ, nullptr, caps);
  if (!sink) {
    for (GstElement *element : sender.elements)
      remove_element(GST_BIN(element_), element);
    fail("missing-plugin", "webrtcbin cannot send media: its nice, dtls or srtp elements are "
                           "missing. Install gstreamer1.0-nice and GStreamer's bad plugins.");
    return;
  }
  GstWebRTCRTPTransceiver *transceiver = nullptr;
  g_object_get(sink, "transceiver", &transceiver, nullptr);
  if (transceiver) {
    g_object_set(transceiver, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV,
                 "codec-preferences", caps, nullptr);
    enable_retransmission(transceiver, codec.kind);
    gst_object_unref(transceiver);
  }
  g_autoptr(GstPad) payloader_src = gst_element_get_static_pad(sender.elements.back(), "src");
  if (gst_pad_link(payloader_src, sink) != GST_PAD_LINK_OK)
    GST_WARNING_OBJECT(element_, "cannot link %s to webrtcbin", codec.payloader);
  gst_object_unref(sink); // webrtcbin keeps its request pad

  g_autoptr(GstPad) payloader_sink = gst_element_get_static_pad(payloader, "sink");
  input->connect(payloader_sink);
  senders_.push_back(std::move(sender));
  GST_INFO_OBJECT(element_, "%s sends %s with payload type %d", input->name().c_str(),
                  codec.encoding_name, pt);
}

void CallSession::add_receiver(MediaKind kind, GstCaps *caps) {
  GstWebRTCRTPTransceiver *transceiver = nullptr;
  g_signal_emit_by_name(webrtc_, "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY,
                        caps, &transceiver);
  if (transceiver) {
    enable_retransmission(transceiver, kind);
    gst_object_unref(transceiver);
  }
  GST_INFO_OBJECT(element_, "receives %s only", to_string(kind));
}

// Every kind without a sink pad is still received: we offer to receive it.
void CallSession::add_missing_receivers() {
  for (MediaKind kind : {MediaKind::kVideo, MediaKind::kAudio}) {
    bool sends = false;
    for (const auto &sender : senders_)
      sends = sends || sender.input->kind() == kind;
    if (sends)
      continue;
    GstCaps *caps = gst_caps_new_empty();
    for (const auto &codec : all_codecs())
      if (codec.kind == kind && can_receive(codec, config_.decode))
        gst_caps_append(caps, rtp_caps_for(codec, codec.default_payload_type));
    add_receiver(kind, caps);
    gst_caps_unref(caps);
  }
}

// True when every sink pad's codec is known. Otherwise `retry` runs again
// shortly, until the caps come or a few seconds have passed.
bool CallSession::codecs_known(std::function<void(CallSession &)> retry) {
  for (SinkInput *input : inputs_) {
    // A profile is only known from the stream's own caps, not the encoder's template.
    const Codec *codec = input->codec();
    if (codec && (!has_profiles(*codec) || input->has_stream_caps()))
      continue;
    if (++codec_waits_ > kCodecWaits) {
      if (codec) {
        fail("no-codec", input->name() + " has sent no media yet, so its " + codec->encoding_name +
                             " profile is unknown: check that its source is running.");
        return false;
      }
      fail("no-codec", "Nothing said what " + input->name() +
                           " carries: link an encoder (e.g. vp8enc, opusenc) to it.");
      return false;
    }
    context_.schedule(kCodecWaitMs, false, [weak = weak_from_this(), retry] {
      if (auto self = weak.lock())
        retry(*self);
    });
    return false;
  }
  return true;
}

void CallSession::offer() {
  if (closed_)
    return;
  // Every sink pad must say what it carries before the offer can.
  if (!codecs_known([](CallSession &self) { self.offer(); }))
    return;
  // Video first, then audio, each in request order: one m-line per sink pad.
  for (MediaKind kind : {MediaKind::kVideo, MediaKind::kAudio}) {
    for (SinkInput *input : inputs_) {
      if (input->kind() != kind)
        continue;
      const Codec &codec = *input->codec();
      g_autoptr(GstCaps) caps = sender_caps(*input, codec, codec.default_payload_type);
      add_sender(input, codec, codec.default_payload_type, caps);
    }
  }
  if (failed_)
    return;
  add_missing_receivers();
  prime_senders();
  create_description("offer");
}

// Whether every sender's caps have reached webrtcbin. They carry the RTP
// stream's SSRC, which the description states: before they arrive webrtcbin
// writes an RTX group for SSRC 0 ("a=ssrc-group:FID 0 ..."), and a browser
// then drops the real stream as unsignaled.
bool CallSession::senders_negotiated() const {
  for (const auto &sender : senders_) {
    g_autoptr(GstPad) src = gst_element_get_static_pad(sender.elements.back(), "src");
    g_autoptr(GstPad) sink = gst_pad_get_peer(src);
    if (!sink || !gst_pad_has_current_caps(sink))
      return false;
  }
  return true;
}

// Asks webrtcbin for our offer or answer ("offer" or "answer"), then sends
// and sets it, once every sender's caps have reached webrtcbin.
void CallSession::create_description(const char *type) {
  if (closed_ || !caps_wait_for_.empty())
    return;
  if (!senders_negotiated()) {
    wait_for_sender_caps(type);
    return;
  }
  make_description(type);
}

// Waits for the senders' caps at webrtcbin's sink pads: they come with the
// payloaders' first caps (SinkInput::connect sends the stream's at once, so
// usually before this is called), or with the stream's first buffer when the
// source has sent nothing yet. notify::caps on those pads says when; after
// kCapsWaitMs the description goes without them, with a warning.
void CallSession::wait_for_sender_caps(const std::string &type) {
  caps_wait_for_ = type;
  for (const auto &sender : senders_) {
    g_autoptr(GstPad) src = gst_element_get_static_pad(sender.elements.back(), "src");
    GstPad *sink = gst_pad_get_peer(src);
    if (!sink)
      continue;
    // Any thread (the one that pushed the caps): hand over, as promises do.
    gulong id = g_signal_connect_data(
        sink, "notify::caps", G_CALLBACK(+[](GObject *, GParamSpec *, gpointer data) {
          auto *watch = static_cast<CapsWatch *>(data);
          watch->context->invoke([session = watch->session] {
            if (auto self = session.lock())
              self->on_sender_caps();
          });
        }),
        new CapsWatch{weak_from_this(), &context_},
        [](gpointer data, GClosure *) { delete static_cast<CapsWatch *>(data); }, GConnectFlags(0));
    caps_watches_.emplace_back(sink, id); // keeps the reference
  }
  caps_timer_ = context_.schedule(kCapsWaitMs, false, [weak = weak_from_this()] {
    if (auto self = weak.lock()) {
      self->caps_timer_ = 0;
      self->on_caps_wait_over();
    }
  });
  // The caps may have come between the check and the watch.
  on_sender_caps();
}

void CallSession::on_sender_caps() {
  if (closed_ || caps_wait_for_.empty() || !senders_negotiated())
    return;
  std::string type = end_caps_wait();
  GST_DEBUG_OBJECT(element_, "the senders' caps are at webrtcbin: creating the %s", type.c_str());
  make_description(type.c_str());
}

void CallSession::on_caps_wait_over() {
  if (closed_ || caps_wait_for_.empty())
    return;
  std::string type = end_caps_wait();
  std::string missing;
  for (const auto &sender : senders_) {
    g_autoptr(GstPad) src = gst_element_get_static_pad(sender.elements.back(), "src");
    g_autoptr(GstPad) sink = gst_pad_get_peer(src);
    if (!sink || !gst_pad_has_current_caps(sink))
      missing += (missing.empty() ? "" : ", ") + sender.input->name();
  }
  std::string message = missing + " sent no stream in " + std::to_string(kCapsWaitMs / 1000) +
                        " s, so the " + type + " goes without its SSRC and " + peer_ +
                        " may not show it: check that its source is running.";
  GST_WARNING_OBJECT(element_, "%s", message.c_str());
  GST_ELEMENT_WARNING_WITH_DETAILS(element_, STREAM, FAILED, ("%s", message.c_str()), (nullptr),
                                   ("reason", G_TYPE_STRING, "no-stream", nullptr));
  make_description(type.c_str());
}

// Stops waiting for the senders' caps; returns what was to be made.
std::string CallSession::end_caps_wait() {
  for (auto &[pad, id] : caps_watches_) {
    g_signal_handler_disconnect(pad, id);
    gst_object_unref(pad);
  }
  caps_watches_.clear();
  if (caps_timer_) {
    context_.cancel(caps_timer_);
    caps_timer_ = 0;
  }
  return std::exchange(caps_wait_for_, {});
}

void CallSession::make_description(const char *type) {
  std::string kind = type;
  GstPromise *promise = make_promise([kind](CallSession &self, const GstStructure *reply) {
    if (self.closed_)
      return;
    std::string error = promise_error(reply, ("create-" + kind).c_str());
    GstWebRTCSessionDescription *description = nullptr;
    if (error.empty())
      gst_structure_get(reply, kind.c_str(), GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &description,
                        nullptr);
    if (!description) {
      self.fail("negotiation-failed",
                kind == "offer" ? "Could not create an offer." : "Could not answer the offer.",
                error);
      return;
    }
    if (kind == "answer" && self.remote_sdp_)
      reject_mlines(description->sdp, self.remote_sdp_.get(), self.rejected_mlines_);
    propose_ice_pacing(description->sdp, self.config_.ice_pacing_ms);
    self.send_local_description(kind.c_str(), description);
    gst_webrtc_session_description_free(description);
  });
  g_signal_emit_by_name(webrtc_, ("create-" + kind).c_str(), nullptr, promise);
  gst_promise_unref(promise);
}

// Sends the description first, then sets it: setting it starts gathering,
// and the peer must have our description before our first candidate.
void CallSession::send_local_description(const char *type,
                                         GstWebRTCSessionDescription *description) {
  g_autofree char *text = gst_sdp_message_as_text(description->sdp);
  local_mids_.clear();
  for (guint i = 0; i < gst_sdp_message_medias_len(description->sdp); i++) {
    const char *mid =
        gst_sdp_media_get_attribute_val(gst_sdp_message_get_media(description->sdp, i), "mid");
    local_mids_.push_back(mid ? mid : "");
  }
  GST_DEBUG_OBJECT(element_, "local %s:\n%s", type, text);
  protocol::SessionDescription sdp{type, text};
  if (std::strcmp(type, "offer") == 0)
    events_.send(protocol::Offer{peer_, sdp});
  else
    events_.send(protocol::Answer{peer_, sdp});

  GstPromise *promise = make_promise([](CallSession &self, const GstStructure *reply) {
    std::string error = promise_error(reply, "set-local-description");
    if (!error.empty() && reply)
      self.fail("negotiation-failed", "Could not apply our own session description.", error);
  });
  g_signal_emit_by_name(webrtc_, "set-local-description", description, promise);
  gst_promise_unref(promise);
}

// Each video sender gets its first keyframe ready for the moment the media
// path is up (SinkInput::prime): as soon as the senders are linked, before
// the offer or answer is made, since the encoder's next frame is up to a
// frame interval away and ICE and DTLS on a short path take little more;
// and again when the checks begin, should a peer slow to answer have let
// the first keyframe go.
void CallSession::prime_senders() {
  for (auto &sender : senders_)
    sender.input->prime();
}

void CallSession::set_remote(GstWebRTCSDPType type, const std::string &sdp,
                             std::function<void(CallSession &)> then) {
  GstSDPMessage *message = nullptr;
  if (gst_sdp_message_new_from_text(sdp.c_str(), &message) != GST_SDP_OK || !message) {
    fail("negotiation-failed", "The peer's session description is not valid SDP.");
    return;
  }
  if (unify_bundle_credentials(message))
    GST_INFO_OBJECT(element_,
                    "%s's bundled m-lines had different ICE credentials: using the "
                    "first one's for all",
                    peer_.c_str());
  // Before the description is set: ICE checks may start with it.
  guint pacing = proposed_ice_pacing(message);
  if (pacing > config_.ice_pacing_ms && set_ice_pacing(webrtc_, pacing))
    GST_INFO_OBJECT(element_, "ICE paced at %u ms, as %s proposes (ours: %u ms)", pacing,
                    peer_.c_str(), config_.ice_pacing_ms);
  GstSDPMessage *copy = nullptr;
  gst_sdp_message_copy(message, &copy);
  remote_sdp_.reset(copy);
  jitter_buffers_.set_remote(copy);
  GstWebRTCSessionDescription *description = gst_webrtc_session_description_new(type, message);
  GstPromise *promise =
      make_promise([then = std::move(then)](CallSession &self, const GstStructure *reply) {
        if (self.closed_)
          return;
        std::string error = promise_error(reply, "set-remote-description");
        if (!error.empty() && reply) {
          self.fail("negotiation-failed", "The peer's session description was refused.", error);
          return;
        }
        self.remote_set_ = true;
        self.flush_candidates();
        then(self);
      });
  g_signal_emit_by_name(webrtc_, "set-remote-description", description, promise);
  gst_promise_unref(promise);
  gst_webrtc_session_description_free(description);
}

void CallSession::accept_offer(const std::string &sdp) {
  if (closed_)
    return;
  GstSDPMessage *parsed = nullptr;
  if (gst_sdp_message_new_from_text(sdp.c_str(), &parsed) != GST_SDP_OK || !parsed) {
    fail("negotiation-failed", "The caller's offer is not valid SDP.");
    return;
  }
  std::unique_ptr<GstSDPMessage, decltype(&gst_sdp_message_free)> offer(parsed,
                                                                        gst_sdp_message_free);
  // GStreamer's parser takes almost any text; an offer has at least a
  // version line and one m-line.
  if (gst_sdp_message_medias_len(offer.get()) == 0 || !gst_sdp_message_get_version(offer.get())) {
    fail("negotiation-failed", "The caller's offer is not valid SDP: it has no media (m=) lines.");
    return;
  }
  if (!codecs_known([sdp](CallSession &self) { self.accept_offer(sdp); }))
    return;

  // Senders in the offer's m-line order, each with the offer's payload type
  // for our codec: webrtcbin 1.22 accepts an m-line only when they match.
  // The rest is received if we can, or rejected: data channels, and media
  // with no codec we can play.
  std::vector<SinkInput *> unused = inputs_;
  rejected_mlines_.clear();
  for (guint i = 0; i < gst_sdp_message_medias_len(offer.get()); i++) {
    const GstSDPMedia *media = gst_sdp_message_get_media(offer.get(), i);
    MediaKind kind;
    // Port 0 is an m-line the offerer turned off, unless it is bundle-only
    // (it then rides on the bundled transport, as webrtcbin offers audio).
    bool turned_off = gst_sdp_media_get_port(media) == 0 && !has_attribute(media, "bundle-only");
    if (!media_kind_of(media, kind) || turned_off) {
      rejected_mlines_.push_back(i);
      continue;
    }
    std::vector<OfferedCodec> offered = offered_codecs(media);
    SinkInput *chosen = nullptr;
    const OfferedCodec *match = nullptr;
    for (SinkInput *input : unused) {
      if (input->kind() != kind)
        continue;
      if ((match = pick_offered(*input, offered))) {
        chosen = input;
        break;
      }
    }
    if (chosen) {
      add_sender(chosen, *match->codec, match->payload_type, match->caps);
      unused.erase(std::find(unused.begin(), unused.end(), chosen));
    } else {
      GstCaps *caps = gst_caps_new_empty();
      for (const auto &candidate : offered)
        if (can_receive(*candidate.codec, config_.decode))
          gst_caps_append(caps, gst_caps_copy(candidate.caps));
      if (gst_caps_is_empty(caps)) {
        GST_INFO_OBJECT(element_, "rejecting m-line %u: cannot play %s", i,
                        codec_names(media).c_str());
        rejected_mlines_.push_back(i);
      } else {
        add_receiver(kind, caps);
      }
      gst_caps_unref(caps);
    }
    free_offered(offered);
  }
  for (SinkInput *input : unused) {
    std::string theirs;
    for (guint i = 0; i < gst_sdp_message_medias_len(offer.get()); i++) {
      const GstSDPMedia *media = gst_sdp_message_get_media(offer.get(), i);
      MediaKind kind;
      if (media_kind_of(media, kind) && kind == input->kind())
        theirs += (theirs.empty() ? "" : ", ") + codec_names(media);
    }
    // The codec offered, but in no profile our stream fits: say which.
    std::string advice = "Use an encoder for one of the peer's codecs.";
    if (theirs.find(input->codec()->encoding_name) != std::string::npos &&
        !profile_advice(*input->codec()).empty())
      advice = profile_advice(*input->codec());
    std::string carries = describe_stream(*input);
    fail("no-common-codec",
         "No common " + std::string(to_string(input->kind())) + " codec: " + input->name() +
             " carries " + carries + ", " + peer_ + " offers " +
             (theirs.empty() ? "no " + std::string(to_string(input->kind())) : theirs) + ". " +
             advice);
    return;
  }

  if (failed_)
    return;
  prime_senders();
  set_remote(GST_WEBRTC_SDP_TYPE_OFFER, sdp,
             [](CallSession &session) { session.create_description("answer"); });
}

void CallSession::accept_answer(const std::string &sdp) {
  if (closed_)
    return;
  GstSDPMessage *parsed = nullptr;
  if (gst_sdp_message_new_from_text(sdp.c_str(), &parsed) != GST_SDP_OK || !parsed) {
    fail("negotiation-failed", "The answer is not valid SDP.");
    return;
  }
  // An m-line answered with port 0 is one the peer cannot do.
  std::string refused;
  for (guint i = 0; i < gst_sdp_message_medias_len(parsed); i++) {
    const GstSDPMedia *media = gst_sdp_message_get_media(parsed, i);
    if (gst_sdp_media_get_port(media) == 0 && i < senders_.size() + 2)
      for (const auto &sender : senders_)
        if (std::strcmp(to_string(sender.input->kind()), gst_sdp_media_get_media(media)) == 0)
          refused = sender.input->name() + " (" + describe_stream(*sender.input) + ")";
  }
  gst_sdp_message_free(parsed);
  if (!refused.empty()) {
    fail("no-common-codec", peer_ + " cannot receive what " + refused +
                                " carries. Use an encoder for a codec the peer accepts.");
    return;
  }
  set_remote(GST_WEBRTC_SDP_TYPE_ANSWER, sdp, [](CallSession &) {});
}

int CallSession::mline_for(const protocol::IceCandidate &candidate) const {
  if (candidate.sdp_mline_index)
    return *candidate.sdp_mline_index;
  if (candidate.sdp_mid && remote_sdp_) {
    for (guint i = 0; i < gst_sdp_message_medias_len(remote_sdp_.get()); i++) {
      const char *mid =
          gst_sdp_media_get_attribute_val(gst_sdp_message_get_media(remote_sdp_.get(), i), "mid");
      if (mid && *candidate.sdp_mid == mid)
        return int(i);
    }
  }
  return -1;
}

void CallSession::add_remote_candidate(const protocol::IceCandidate &candidate) {
  if (closed_)
    return;
  if (!remote_set_) {
    pending_candidates_.push_back(candidate);
    return;
  }
  // An empty candidate marks the end of candidates; 1.22 needs no telling.
  if (candidate.candidate.empty())
    return;
  int mline = mline_for(candidate);
  if (mline < 0) {
    GST_WARNING_OBJECT(element_, "dropping a candidate for no known m-line: %s",
                       candidate.candidate.c_str());
    return;
  }
  GST_LOG_OBJECT(element_, "remote candidate %d %s", mline, candidate.candidate.c_str());
  g_signal_emit_by_name(webrtc_, "add-ice-candidate", guint(mline), candidate.candidate.c_str());
}

void CallSession::flush_candidates() {
  auto pending = std::move(pending_candidates_);
  pending_candidates_.clear();
  for (const auto &candidate : pending)
    add_remote_candidate(candidate);
}

// webrtcbin's thread.
void CallSession::on_ice_candidate(guint mline, const std::string &candidate) {
  context_.invoke([weak = weak_from_this(), mline, candidate] {
    auto self = weak.lock();
    if (!self || self->closed_)
      return;
    protocol::IceCandidate init;
    init.candidate = candidate;
    init.sdp_mline_index = int(mline);
    if (mline < self->local_mids_.size() && !self->local_mids_[mline].empty())
      init.sdp_mid = self->local_mids_[mline];
    if (candidate.find(" typ relay") != std::string::npos)
      self->relay_gathered_ = true;
    self->events_.send(protocol::Candidate{self->peer_, init});
  });
}

void CallSession::on_connection_state(GstWebRTCPeerConnectionState state) {
  if (closed_)
    return;
  GST_INFO_OBJECT(element_, "connection state %d", int(state));
  if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTING) {
    prime_senders();
  } else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED && !connected_) {
    connected_ = true;
    for (auto &sender : senders_)
      sender.input->open();
    watch_media();
    if (events_.connected)
      events_.connected();
  } else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED) {
    bool uses_turn = !config_.turn_server.empty() || !config_.signaled_turn_servers.empty();
    if (uses_turn && !relay_gathered_)
      // libnice says nothing of a TURN server refusing us; this is its trace.
      fail("ice-failed", "No network path to " + peer_ +
                             " was found (ICE failed), and the TURN server gave no relay address: "
                             "check its credentials (turn-server, or the signaling server's "
                             "--turn-secret) and that it can be reached.");
    else
      fail("ice-failed",
           "No network path to " + peer_ +
               " was found (ICE failed). Check that both sides can reach each other, or set "
               "stun-server or turn-server.");
  }
}

// Media and RTCP from the peer keep the call alive; `media-timeout` seconds
// of neither end it. RTP is seen on webrtcbin's src pads, RTCP through its
// rtpbin's on-ssrc-active (a peer that only receives still sends reports).
void CallSession::watch_media() {
  if (config_.media_timeout_s == 0 || media_check_)
    return;
  // As if media were due at the grace's end: any that comes sooner moves it.
  first_media_due_us_ = g_get_monotonic_time() + kFirstMediaGraceUs;
  *last_media_us_ = first_media_due_us_;
  if (GstElement *rtpbin = gst_bin_get_by_name(GST_BIN(webrtc_), "rtpbin")) {
    g_signal_connect_data(
        rtpbin, "on-ssrc-active", G_CALLBACK(+[](GstElement *, guint, guint, gpointer data) {
          static_cast<MediaClock *>(data)->get()->store(g_get_monotonic_time());
        }),
        new MediaClock(last_media_us_),
        [](gpointer data, GClosure *) { delete static_cast<MediaClock *>(data); },
        GConnectFlags(0));
    gst_object_unref(rtpbin);
  } else {
    GST_WARNING_OBJECT(element_, "no rtpbin in webrtcbin: media-timeout sees RTP only");
  }
  media_check_ = context_.schedule(1000, true, [weak = weak_from_this()] {
    if (auto self = weak.lock())
      self->check_media();
  });
}

void CallSession::check_media() {
  if (closed_ || failed_)
    return;
  gint64 last_us = last_media_us_->load();
  gint64 silent_us = g_get_monotonic_time() - last_us;
  if (silent_us < gint64(config_.media_timeout_s) * G_USEC_PER_SEC)
    return;
  if (last_us == first_media_due_us_)
    fail("media-timeout",
         "No media or RTCP came from " + peer_ + " in the " +
             std::to_string(config_.media_timeout_s + kFirstMediaGraceUs / G_USEC_PER_SEC) +
             " s since the connection was made (media-timeout, plus time for the peer to finish "
             "connecting): the peer is gone, or the network between you is down.");
  else
    fail("media-timeout", "No media or RTCP from " + peer_ + " for " +
                              std::to_string(config_.media_timeout_s) +
                              " s (media-timeout): the peer is gone, or the network between you "
                              "is down.");
}

// A streaming thread: the peer's media has arrived on a new webrtcbin pad.
void CallSession::on_pad_added(GstPad *pad) {
  if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
    return;
  gst_pad_add_probe(
      pad, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
      [](GstPad *, GstPadProbeInfo *, gpointer data) {
        static_cast<MediaClock *>(data)->get()->store(g_get_monotonic_time());
        return GST_PAD_PROBE_OK;
      },
      new MediaClock(last_media_us_),
      [](gpointer data) { delete static_cast<MediaClock *>(data); });
  g_autoptr(GstCaps) caps = gst_pad_get_current_caps(pad);
  if (!caps)
    caps = gst_pad_query_caps(pad, nullptr);
  const Codec *codec = codec_for_rtp_caps(caps);
  if (!codec) {
    // Nothing downstream: drop it rather than let webrtcbin see not-linked.
    GST_WARNING_OBJECT(element_, "dropping media the element cannot depayload: %" GST_PTR_FORMAT,
                       caps);
    gst_pad_add_probe(
        pad, GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad *, GstPadProbeInfo *, gpointer) { return GST_PAD_PROBE_DROP; }, nullptr, nullptr);
    return;
  }
  std::vector<const char *> factories = {codec->depayloader};
  if (codec->parser)
    factories.push_back(codec->parser);
  if (config_.decode) {
    // If none is installed, the error below names the one we prefer.
    const char *decoder = installed_decoder(*codec);
    factories.push_back(decoder ? decoder : codec->decoders.front());
  }
  Output output;
  for (const char *factory : factories) {
    GstElement *element = gst_element_factory_make(factory, nullptr);
    if (!element) {
      GST_ELEMENT_ERROR(
          element_, CORE, MISSING_PLUGIN,
          ("The %s element is missing: cannot play the peer's %s.", factory, codec->encoding_name),
          (nullptr));
      for (GstElement *made : output.chain)
        gst_object_unref(made);
      return;
    }
    output.chain.push_back(element);
  }
  prepare_for_loss(output.chain.front(), *codec);
  for (GstElement *element : output.chain)
    gst_bin_add(GST_BIN(element_), element);
  for (size_t i = 1; i < output.chain.size(); i++)
    gst_element_link(output.chain[i - 1], output.chain[i]);
  for (GstElement *element : output.chain)
    gst_element_sync_state_with_parent(element);

  g_autoptr(GstPad) last_src = gst_element_get_static_pad(output.chain.back(), "src");
  unsigned index = codec->kind == MediaKind::kVideo ? video_outputs_++ : audio_outputs_++;
  std::string name = std::string(to_string(codec->kind)) + "_src_" + std::to_string(index);
  GstPadTemplate *templ = gst_element_class_get_pad_template(
      GST_ELEMENT_GET_CLASS(element_),
      codec->kind == MediaKind::kVideo ? "video_src_%u" : "audio_src_%u");
  output.ghost = gst_ghost_pad_new_from_template(name.c_str(), last_src, templ);
  gst_pad_set_active(output.ghost, TRUE);
  if (!gst_element_add_pad(element_, output.ghost)) {
    GST_WARNING_OBJECT(element_, "a pad named %s exists already: dropping this stream",
                       name.c_str());
    for (GstElement *element : output.chain)
      remove_element(GST_BIN(element_), element);
    return;
  }
  {
    std::lock_guard<std::mutex> guard(outputs_lock_);
    outputs_.push_back(output);
  }
  g_autoptr(GstPad) depay_sink = gst_element_get_static_pad(output.chain.front(), "sink");
  if (gst_pad_link(pad, depay_sink) != GST_PAD_LINK_OK)
    GST_WARNING_OBJECT(element_, "cannot link webrtcbin to %s", codec->depayloader);
  GST_INFO_OBJECT(element_, "%s carries %s's %s", name.c_str(), peer_.c_str(),
                  codec->encoding_name);
  if (events_.output_added)
    events_.output_added(output.ghost);
}

bool CallSession::has_outputs() {
  std::lock_guard<std::mutex> guard(outputs_lock_);
  return !outputs_.empty();
}

void CallSession::close(bool eos) {
  if (closed_)
    return;
  closed_ = true;
  context_.cancel(media_check_);
  media_check_ = 0;
  end_caps_wait();
  // Upstream first, so nothing is pushed into elements being shut down.
  for (auto &sender : senders_)
    sender.input->disconnect();
  for (GstPromise *promise : std::exchange(pending_promises_, {})) {
    gst_promise_interrupt(promise);
    gst_promise_unref(promise);
  }
  // webrtcbin 1.22 answers get-stats on its own thread by walking its RTP
  // sessions' tables, which stopping it empties: at the same moment GLib
  // reports a table changed under iteration (seen under AddressSanitizer).
  // An interrupted promise does not stop that walk, so wait for it to end.
  for (gint64 deadline = g_get_monotonic_time() + kStatsDrainUs;
       stats_in_flight_->load() > 0 && g_get_monotonic_time() < deadline;)
    g_usleep(1000);
  if (webrtc_) {
    gst_element_set_locked_state(webrtc_, TRUE); // before its pads: a bin's state change skips it
    deactivate_src_pads(webrtc_);
    GstStateChangeReturn result = remove_element(GST_BIN(element_), webrtc_);
    if (result != GST_STATE_CHANGE_SUCCESS)
      GST_WARNING_OBJECT(element_, "webrtcbin did not stop cleanly: %s",
                         gst_element_state_change_return_get_name(result));
    webrtc_ = nullptr;
  }
  for (auto &sender : senders_)
    for (GstElement *element : sender.elements)
      remove_element(GST_BIN(element_), element);
  senders_.clear();
  if (eos) {
    // EOS can block in a sink waiting for preroll (a PAUSED pipeline): push it
    // from GStreamer's thread pool, never from the signaling thread.
    std::vector<GstElement *> heads;
    {
      std::lock_guard<std::mutex> guard(outputs_lock_);
      for (auto &output : outputs_)
        heads.push_back(GST_ELEMENT(gst_object_ref(output.chain.front())));
    }
    for (GstElement *head : heads)
      gst_element_call_async(
          head,
          [](GstElement *depayloader, gpointer) {
            g_autoptr(GstPad) sink = gst_element_get_static_pad(depayloader, "sink");
            gst_pad_send_event(sink, gst_event_new_eos());
          },
          nullptr, nullptr);
    for (GstElement *head : heads)
      gst_object_unref(head);
  } else {
    remove_outputs();
  }
}

void CallSession::remove_outputs() {
  std::vector<Output> outputs;
  {
    std::lock_guard<std::mutex> guard(outputs_lock_);
    outputs.swap(outputs_);
  }
  for (auto &output : outputs) {
    gst_pad_set_active(output.ghost, FALSE);
    gst_element_remove_pad(element_, output.ghost);
    for (GstElement *element : output.chain) {
      remove_element(GST_BIN(element_), element);
    }
  }
}

} // namespace webrtccall
