// Rejecting m-lines in our answer, as RFC 3264 and JSEP say: the m-line
// stays where it is with port 0, so that both sides keep the same m-line
// indices, and leaves the BUNDLE group. webrtcbin 1.22 cannot do this itself:
// it answers an m-line it has no transceiver for as receive-only with
// whatever the offer proposed.
#pragma once

#include <gst/sdp/sdp.h>

#include <vector>

namespace webrtccall {

// Rejects the m-lines of `answer` at `indices`: port 0, one format, only
// their mid and transport lines kept; their mids leave the BUNDLE group.
// The exception is the m-line that tags the offer's BUNDLE group: webrtcbin
// 1.22 keeps the bundled transport on it whatever the answer says, and
// gathers candidates for it, so it stays in the bundle as `inactive`.
void reject_mlines(GstSDPMessage *answer, const GstSDPMessage *offer,
                   const std::vector<guint> &indices);

} // namespace webrtccall
