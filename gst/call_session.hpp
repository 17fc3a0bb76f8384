// One call: a webrtcbin made for it, its offer/answer exchange, candidates
// both ways, and the media chains on both sides. A new call gets a new
// CallSession (webrtcbin 1.22 has no ICE restart, and a fresh one per call
// leaves nothing behind from the last).
//
// Public methods run on the element's signaling thread. webrtcbin calls back
// on its own threads; those callbacks hold only a weak reference and hand
// their work to the signaling thread.
#pragma once

#include "codecs.hpp"
#include "element_context.hpp"
#include "jitter_buffers.hpp"
#include "protocol/messages.hpp"
#include "sink_input.hpp"

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace webrtccall {

struct CallConfig {
  std::string stun_server;
  std::string turn_server;
  // From the signaling server (its --ice-server and --turn-secret), used when
  // the element's own stun-server / turn-server are empty.
  std::string signaled_stun_server;
  std::vector<std::string> signaled_turn_servers;
  std::vector<std::string> ice_addresses; // empty: every interface
  bool upnp = false;
  bool ice_tcp = true;
  unsigned ice_pacing_ms = 5; // ice_pacing.hpp
  unsigned latency_ms = 200;
  bool lip_sync = true;
  bool decode = true;
  unsigned media_timeout_s = 5; // 0: never
};

// Why a call could not go on; each maps to an error the user can act on.
struct CallFailure {
  std::string reason;  // machine-readable, as in the webrtccall-state message
  std::string message; // for people: what failed and what to do
  std::string detail;  // for the debug log
};

class CallSession : public std::enable_shared_from_this<CallSession> {
public:
  struct Events {
    // Sends a protocol message to the peer (signaling thread).
    std::function<void(protocol::ClientMessage)> send;
    // ICE and DTLS are up: media flows (signaling thread).
    std::function<void()> connected;
    std::function<void(const CallFailure &)> failed; // signaling thread
    // A src pad of the element now carries the peer's media (streaming thread).
    std::function<void(GstPad *ghost)> output_added;
  };

  CallSession(GstElement *element, ElementContext &context, CallConfig config,
              std::vector<std::shared_ptr<SinkInput>> inputs, std::string peer, Events events);
  ~CallSession(); // closes, then removes the src pads and their elements
  CallSession(const CallSession &) = delete;
  CallSession &operator=(const CallSession &) = delete;

  // Creates webrtcbin inside the element. False (and `failed`) if it cannot.
  bool start();
  // As caller: adds the media and sends an offer once every sink pad's codec is known.
  void offer();
  // As callee: answers the offer with what the sink pads carry.
  void accept_offer(const std::string &sdp);
  void accept_answer(const std::string &sdp);
  void add_remote_candidate(const protocol::IceCandidate &candidate);
  // Ends the call's media: senders are cut, webrtcbin goes, and the src pads
  // get EOS (`eos`) or are removed at once.
  void close(bool eos);

  // webrtcbin's statistics, delivered on the signaling thread.
  void request_stats(std::function<void(const GstStructure *)> done);
  // A promise this session no longer waits for (signaling thread).
  void forget_promise(GstPromise *promise);

  const std::string &peer() const { return peer_; }
  bool has_outputs();

private:
  struct Sender {
    SinkInput *input;
    std::vector<GstElement *> elements; // payloader [capssetter], owned by the element's bin
  };
  struct Output {
    std::vector<GstElement *> chain; // depayloader [parser] [decoder], owned by the bin
    GstPad *ghost;                   // owned by the element
  };

  // A promise whose reply reaches `then` on the signaling thread.
  GstPromise *make_promise(std::function<void(CallSession &, const GstStructure *)> then);
  void on_pad_added(GstPad *pad);
  void on_ice_candidate(guint mline, const std::string &candidate);
  void on_connection_state(GstWebRTCPeerConnectionState state);
  // Dead-peer detection: webrtcbin 1.22 has no consent freshness.
  void watch_media();
  void check_media();
  void add_sender(SinkInput *input, const Codec &codec, int pt, GstCaps *caps);
  void add_receiver(MediaKind kind, GstCaps *caps);
  void add_missing_receivers();
  void create_description(const char *type);
  void wait_for_sender_caps(const std::string &type);
  void on_sender_caps();
  void on_caps_wait_over();
  std::string end_caps_wait();
  void make_description(const char *type);
  bool senders_negotiated() const;
  bool codecs_known(std::function<void(CallSession &)> retry);
  void send_local_description(const char *type, GstWebRTCSessionDescription *description);
  void prime_senders();
  void set_remote(GstWebRTCSDPType type, const std::string &sdp,
                  std::function<void(CallSession &)> then);
  void flush_candidates();
  int mline_for(const protocol::IceCandidate &candidate) const;
  void fail(std::string reason, std::string message, std::string detail = {});
  void remove_outputs();

  GstElement *element_; // the webrtccall bin; outlives us
  ElementContext &context_;
  CallConfig config_;
  // Shared with the element: a pad released mid-call stays alive until the call ends.
  std::vector<std::shared_ptr<SinkInput>> input_owners_;
  std::vector<SinkInput *> inputs_; // the same, for the negotiation code
  std::string peer_;
  Events events_;

  GstElement *webrtc_ = nullptr; // owned by the bin while the call lasts
  std::vector<Sender> senders_;
  std::mutex outputs_lock_; // outputs are added on streaming threads
  std::vector<Output> outputs_;
  std::unique_ptr<GstSDPMessage, decltype(&gst_sdp_message_free)> remote_sdp_{nullptr,
                                                                              gst_sdp_message_free};
  JitterBufferSetup jitter_buffers_;    // faststart, and NACK for the peer's video
  std::vector<std::string> local_mids_; // m-line index -> mid, for our candidates
  std::vector<guint> rejected_mlines_;  // of the offer we answer: port 0 in our answer
  std::vector<protocol::IceCandidate> pending_candidates_; // until the remote description is set
  std::vector<GstPromise *> pending_promises_;             // holds refs; interrupted on close
  // get-stats requests webrtcbin has not answered yet; close() waits for them.
  std::shared_ptr<std::atomic<int>> stats_in_flight_ = std::make_shared<std::atomic<int>>(0);
  bool remote_set_ = false;
  bool relay_gathered_ = false; // a TURN relay candidate of ours: the TURN server let us in
  bool connected_ = false;
  std::atomic<unsigned> video_outputs_{0}, audio_outputs_{0}; // src pad numbering
  bool closed_ = false;
  bool failed_ = false; // reported once; the controller ends the call
  // When RTP or RTCP last came from the peer. Streaming threads write it
  // through their own reference, never through the session.
  std::shared_ptr<std::atomic<gint64>> last_media_us_ = std::make_shared<std::atomic<gint64>>(0);
  gint64 first_media_due_us_ = 0; // last_media_us_ until anything comes (watch_media)
  guint media_check_ = 0;
  unsigned codec_waits_ = 0;
  // create_description() waiting for the senders' caps: what it is to make
  // ("offer", "answer"; empty: not waiting), the sink pads watched (each
  // with a reference) and the deadline.
  std::string caps_wait_for_;
  std::vector<std::pair<GstPad *, gulong>> caps_watches_;
  guint caps_timer_ = 0;
};

} // namespace webrtccall
