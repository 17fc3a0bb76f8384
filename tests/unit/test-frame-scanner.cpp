// The frame-size guard that caps fragmented WebSocket messages (libsoup 3.2
// caps single frames only).
#include "frame_limit_stream.hpp"

#include <glib.h>

#include <vector>

using webrtccall::server::FrameScanner;

namespace {

constexpr std::uint8_t kText = 0x1, kContinuation = 0x0, kPing = 0x9;

// A masked client frame with `length` payload bytes.
std::vector<std::uint8_t> frame(std::uint8_t opcode, bool final_frame, std::uint64_t length,
                                bool with_payload = true) {
  std::vector<std::uint8_t> bytes;
  bytes.push_back(std::uint8_t((final_frame ? 0x80 : 0) | opcode));
  if (length < 126) {
    bytes.push_back(std::uint8_t(0x80 | length));
  } else if (length <= 0xffff) {
    bytes.push_back(0x80 | 126);
    bytes.push_back(std::uint8_t(length >> 8));
    bytes.push_back(std::uint8_t(length));
  } else {
    bytes.push_back(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8)
      bytes.push_back(std::uint8_t(length >> shift));
  }
  for (int i = 0; i < 4; i++)
    bytes.push_back(std::uint8_t(0x11 * (i + 1))); // mask
  if (with_payload)
    bytes.insert(bytes.end(), length, 'x');
  return bytes;
}

bool feed(FrameScanner &scanner, const std::vector<std::uint8_t> &bytes) {
  return scanner.feed(bytes.data(), bytes.size());
}

void test_small_messages_pass() {
  FrameScanner scanner(1024);
  for (int i = 0; i < 100; i++)
    g_assert_true(feed(scanner, frame(kText, true, 1000)));
}

void test_single_frame_over_limit_fails_at_header() {
  FrameScanner scanner(1024);
  g_assert_false(feed(scanner, frame(kText, true, 1025, false)));
  g_assert_false(feed(scanner, frame(kText, true, 1))); // stays failed
}

void test_16_and_64_bit_lengths() {
  FrameScanner scanner(100000);
  g_assert_true(feed(scanner, frame(kText, true, 70000)));
  g_assert_true(feed(scanner, frame(kText, true, 300)));
  FrameScanner huge(100000);
  g_assert_false(feed(huge, frame(kText, true, 0x7fffffffffffffffULL, false)));
}

void test_fragments_are_summed() {
  // 1 MiB in 1 KiB fragments against a 64 KiB limit: refused at the 65th.
  FrameScanner scanner(64 * 1024);
  g_assert_true(feed(scanner, frame(kText, false, 1024)));
  int accepted = 1;
  while (feed(scanner, frame(kContinuation, false, 1024, false))) {
    std::vector<std::uint8_t> payload(1024, 'x');
    g_assert_true(scanner.feed(payload.data(), payload.size()));
    accepted++;
    g_assert_cmpint(accepted, <=, 64);
  }
  g_assert_cmpint(accepted, ==, 64);
}

void test_final_fragment_resets_the_sum() {
  FrameScanner scanner(3000);
  for (int round = 0; round < 10; round++) {
    g_assert_true(feed(scanner, frame(kText, false, 1000)));
    g_assert_true(feed(scanner, frame(kContinuation, false, 1000)));
    g_assert_true(feed(scanner, frame(kContinuation, true, 1000)));
  }
}

void test_control_frames_between_fragments_do_not_count() {
  FrameScanner scanner(2000);
  g_assert_true(feed(scanner, frame(kText, false, 1000)));
  for (int i = 0; i < 50; i++)
    g_assert_true(feed(scanner, frame(kPing, true, 125)));
  g_assert_true(feed(scanner, frame(kContinuation, true, 1000)));
}

void test_byte_at_a_time() {
  FrameScanner scanner(64 * 1024);
  std::vector<std::uint8_t> stream;
  for (int i = 0; i < 3; i++) {
    auto f = frame(kText, true, 200 + i * 30000);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  for (std::uint8_t byte : stream)
    g_assert_true(scanner.feed(&byte, 1));
  auto over = frame(kText, false, 40000);
  auto more = frame(kContinuation, true, 40000, false);
  over.insert(over.end(), more.begin(), more.end());
  bool ok = true;
  for (std::uint8_t byte : over)
    ok = scanner.feed(&byte, 1) && ok;
  g_assert_false(ok);
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/frame-scanner/small-messages-pass", test_small_messages_pass);
  g_test_add_func("/frame-scanner/oversize-frame-fails-at-header",
                  test_single_frame_over_limit_fails_at_header);
  g_test_add_func("/frame-scanner/extended-lengths", test_16_and_64_bit_lengths);
  g_test_add_func("/frame-scanner/fragments-are-summed", test_fragments_are_summed);
  g_test_add_func("/frame-scanner/final-fragment-resets", test_final_fragment_resets_the_sum);
  g_test_add_func("/frame-scanner/control-frames-do-not-count",
                  test_control_frames_between_fragments_do_not_count);
  g_test_add_func("/frame-scanner/byte-at-a-time", test_byte_at_a_time);
  return g_test_run();
}
