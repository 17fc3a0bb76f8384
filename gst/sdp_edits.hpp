// The SDP edits webrtcbin 1.22 needs from us to talk to other stacks.
//
// Rejecting m-lines in our answer, as RFC 3264 and JSEP say: the m-line
// stays where it is with port 0, so that both sides keep the same m-line
// indices, and leaves the BUNDLE group. webrtcbin 1.22 cannot do this itself:
// it answers an m-line it has no transceiver for as receive-only with
// whatever the offer proposed.
//
// Bundled ICE credentials in a remote description: 1.22 refuses one whose
// bundled m-lines carry different ice-ufrag/ice-pwd (aiortc sends such
// offers); only the first bundled m-line's transport is used, so its
// credentials are the ones that count.
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

// Gives every m-line of `remote`'s BUNDLE group the ICE credentials of the
// group's first m-line. True if anything changed.
bool unify_bundle_credentials(GstSDPMessage *remote);

} // namespace webrtccall
