#include "messages.hpp"

#include <charconv>

namespace webrtccall::loadgen {

namespace {

constexpr std::string_view kStampMark = "ufrag lg@";

// Where the value of member `key` starts, or npos.
std::size_t value_at(std::string_view text, std::string_view key) {
  std::string quoted;
  quoted.reserve(key.size() + 2);
  quoted.append("\"").append(key).append("\"");
  for (std::size_t at = text.find(quoted); at != std::string_view::npos;
       at = text.find(quoted, at + 1)) {
    std::size_t i = at + quoted.size();
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t'))
      i++;
    if (i >= text.size() || text[i] != ':')
      continue; // the key's text inside a string value, not a member
    i++;
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t'))
      i++;
    return i;
  }
  return std::string_view::npos;
}

std::string with_to(std::string_view type, std::string_view to) {
  std::string text;
  text.reserve(64 + to.size());
  text.append("{\"type\":\"").append(type).append("\",\"name\":\"").append(to).append("\"");
  return text;
}

} // namespace

std::string login_text(std::string_view name) {
  std::string text = "{\"type\":\"login\",\"name\":\"";
  text.append(name).append("\"}");
  return text;
}

std::string offer_text(std::string_view to, std::string_view sdp_json) {
  std::string text = with_to("offer", to);
  text.append(",\"offer\":{\"type\":\"offer\",\"sdp\":\"").append(sdp_json).append("\"}}");
  return text;
}

std::string answer_text(std::string_view to, std::string_view sdp_json) {
  std::string text = with_to("answer", to);
  text.append(",\"answer\":{\"type\":\"answer\",\"sdp\":\"").append(sdp_json).append("\"}}");
  return text;
}

std::string leave_text(std::string_view to) {
  return with_to("leave", to) + "}";
}

std::string candidate_text(std::string_view to, std::uint64_t sequence, std::int64_t sent_ns) {
  std::string text = with_to("candidate", to);
  text.append(",\"candidate\":{\"candidate\":\"candidate:1467250027 1 udp 2122260223 127.0.0.1 ");
  text.append(std::to_string(40000 + sequence % 20000));
  text.append(" typ host generation 0 ").append(kStampMark);
  text.append(std::to_string(sequence)).append("@").append(std::to_string(sent_ns));
  text.append("\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0}}");
  return text;
}

std::string synthetic_sdp_json(std::size_t bytes, bool answer) {
  // Lines as a browser writes them; "\\r\\n" is the JSON escape of CRLF.
  std::string sdp = "v=0\\r\\no=- 4611731400430051336 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\n"
                    "a=group:BUNDLE 0 1\\r\\na=msid-semantic: WMS loadgen\\r\\n"
                    "m=audio 9 UDP/TLS/RTP/SAVPF 111\\r\\nc=IN IP4 0.0.0.0\\r\\n"
                    "a=rtcp:9 IN IP4 0.0.0.0\\r\\na=ice-ufrag:lgen\\r\\n"
                    "a=ice-pwd:loadgenloadgenloadgenlo\\r\\na=fingerprint:sha-256 "
                    "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:"
                    "44:55:66:77:88:99\\r\\n";
  sdp += answer ? "a=setup:active\\r\\n" : "a=setup:actpass\\r\\n";
  sdp += "a=mid:0\\r\\na=sendrecv\\r\\na=rtcp-mux\\r\\na=rtpmap:111 opus/48000/2\\r\\n"
         "a=fmtp:111 minptime=10;useinbandfec=1\\r\\n"
         "m=video 9 UDP/TLS/RTP/SAVPF 96 97\\r\\nc=IN IP4 0.0.0.0\\r\\na=mid:1\\r\\n"
         "a=sendrecv\\r\\na=rtcp-mux\\r\\na=rtpmap:96 VP8/90000\\r\\na=rtcp-fb:96 nack\\r\\n"
         "a=rtcp-fb:96 nack pli\\r\\na=rtcp-fb:96 ccm fir\\r\\na=rtpmap:97 rtx/90000\\r\\n"
         "a=fmtp:97 apt=96\\r\\n";
  // Up to the size asked for with SSRC lines, which real offers have many of.
  for (unsigned ssrc = 1000; sdp.size() < bytes; ssrc++)
    sdp += "a=ssrc:" + std::to_string(ssrc) + " cname:loadgen-synthetic-endpoint\\r\\n";
  return sdp;
}

std::optional<std::string_view> string_member(std::string_view text, std::string_view key) {
  std::size_t at = value_at(text, key);
  if (at == std::string_view::npos || text[at] != '"')
    return std::nullopt;
  std::size_t end = at + 1;
  while (end < text.size() && text[end] != '"')
    end += text[end] == '\\' ? 2 : 1;
  if (end >= text.size())
    return std::nullopt;
  return text.substr(at + 1, end - at - 1);
}

bool true_member(std::string_view text, std::string_view key) {
  std::size_t at = value_at(text, key);
  return at != std::string_view::npos && text.substr(at, 4) == "true";
}

bool has_member(std::string_view text, std::string_view key) {
  return value_at(text, key) != std::string_view::npos;
}

std::optional<RelayStamp> relay_stamp(std::string_view text) {
  std::size_t at = text.find(kStampMark);
  if (at == std::string_view::npos)
    return std::nullopt;
  const char *p = text.data() + at + kStampMark.size();
  const char *end = text.data() + text.size();
  RelayStamp stamp;
  auto seq = std::from_chars(p, end, stamp.sequence);
  if (seq.ec != std::errc() || seq.ptr == end || *seq.ptr != '@')
    return std::nullopt;
  auto sent = std::from_chars(seq.ptr + 1, end, stamp.sent_ns);
  if (sent.ec != std::errc())
    return std::nullopt;
  return stamp;
}

} // namespace webrtccall::loadgen
