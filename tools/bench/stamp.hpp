// A capture timestamp drawn into each frame as a pattern of blocks, read back
// after decoding, for glass-to-glass latency (docs/benchmarks.md, "Method").
//
// Layout, in a 40 x 30 grid of blocks over the picture (16 x 16 pixels at
// 640x480, whatever the size, so a scaled picture reads the same): row 0,
// blocks 0-31, the low 32 bits of the wall clock in microseconds at capture,
// most significant first, white for 1 and black for 0; row 1 the same bits
// inverted. A reading counts only if every bit differs clearly from its
// inverse, so a frame the encoder smeared is dropped, never misread.
// tools/bench/page-stamp.js draws and reads the same layout in a browser.
#pragma once

#include <gst/video/video.h>

#include <cstdint>
#include <optional>

namespace webrtccall::bench {

constexpr int kStampBits = 32;
constexpr int kGridColumns = 40;
constexpr int kGridRows = 30;

// Draws `value` into an I420 frame.
void draw_stamp(GstVideoFrame *frame, uint32_t value);

// Reads the value from an I420 frame; nothing if the pattern is not clear.
std::optional<uint32_t> read_stamp(const GstVideoFrame *frame);

// The low 32 bits of the wall clock, in microseconds.
uint32_t stamp_now();

// Microseconds from `stamp` to `now`, modulo 2^32 (the clock wraps every
// 71 minutes; a latency is far shorter).
inline int64_t stamp_age_us(uint32_t stamp, uint32_t now) {
  return int64_t(uint32_t(now - stamp));
}

} // namespace webrtccall::bench
