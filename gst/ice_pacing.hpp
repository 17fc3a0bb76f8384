// ICE pacing: timer Ta of RFC 8445 (section 14.2), the interval at which
// libnice sends the next connectivity check or gathering request. Each step
// of a call's checks (a check, the peer's triggered check, the nomination)
// waits for the next tick, so on a short path Ta, not the round trip, sets
// how long ICE takes: about three of libnice's 20 ms ticks on loopback.
//
// RFC 8445 lets an agent use another Ta than the default if it says so, and
// never below 5 ms; RFC 8839 says how: a session-level a=ice-pacing in the
// description. The element proposes its ice-pacing property that way, and
// uses the peer's proposal when it is the higher of the two, as both sides
// must. A peer that proposes nothing (browsers do not) leaves ours.
#pragma once

#include <gst/gst.h>
#include <gst/sdp/sdp.h>

namespace webrtccall {

constexpr guint kMinIcePacingMs = 5;
constexpr guint kMaxIcePacingMs = 1000;

// Adds a=ice-pacing:`ms` to `description`, replacing any it had.
void propose_ice_pacing(GstSDPMessage *description, guint ms);

// The Ta `description` proposes, or 0 when it proposes none or a value out of
// kMinIcePacingMs..kMaxIcePacingMs (RFC 8445's floor; a longer one would hold
// the call's set-up for seconds).
guint proposed_ice_pacing(const GstSDPMessage *description);

// webrtcbin's libnice agent (its ICE object's "agent"), with a reference, or
// nullptr. CallSession also sets its UPnP through it.
GObject *nice_agent_of(GstElement *webrtcbin);

// Sets Ta on webrtcbin's libnice agent; false if webrtcbin has none to set.
bool set_ice_pacing(GstElement *webrtcbin, guint ms);

// webrtcbin's libnice agent's Ta, or 0 if it has none.
guint ice_pacing_of(GstElement *webrtcbin);

} // namespace webrtccall
