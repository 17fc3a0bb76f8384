// The words of webrtccall-cli's progress lines, made from the element's bus
// messages (docs/element.md). Documented in docs/cli.md; tests match them.
#pragma once

#include <gst/gst.h>

#include <string>

namespace webrtccall::cli {

// A webrtccall-state message as a line; empty when there is nothing to say.
// `user` is our own name, `server` the signaling server's URL.
std::string state_line(const std::string &state, const std::string &peer, const std::string &reason,
                       const std::string &user, const std::string &server);

// Why the call ended, as the end of "Call with bob ended: ...".
std::string end_reason_text(const std::string &reason, const std::string &peer);

// A webrtccall-stats message, `seconds` into the call:
// "[00:05] out 812 kbit/s, in 790 kbit/s, lost 0 out, 3 in, round trip 1.2 ms".
std::string stats_line(const GstStructure *stats, gint64 seconds);

// A received stream's format, from its encoded caps: "VP8 640x480",
// "Opus 48000 Hz, 2 channels".
std::string format_text(const GstCaps *caps);

// An error message of the element, with its property names replaced by the
// options that set them ("raise call-timeout" becomes "raise --timeout").
std::string in_option_terms(const std::string &message);

// "01:23", or "1:02:03" past an hour.
std::string duration_text(gint64 seconds);

} // namespace webrtccall::cli
