#include "stamp.hpp"

#include <cstdlib>

namespace webrtccall::bench {

namespace {

// Video-range luma: what white and black encode to.
constexpr guint8 kWhite = 235, kBlack = 16;
// Bit and inverse must differ by this much in mean luma, out of 219.
constexpr int kMinContrast = 80;

struct Rect {
  int x, y, w, h;
};

Rect block(const GstVideoFrame *frame, int column, int row) {
  int width = GST_VIDEO_FRAME_WIDTH(frame), height = GST_VIDEO_FRAME_HEIGHT(frame);
  int x0 = column * width / kGridColumns, x1 = (column + 1) * width / kGridColumns;
  int y0 = row * height / kGridRows, y1 = (row + 1) * height / kGridRows;
  return {x0, y0, x1 - x0, y1 - y0};
}

void fill(GstVideoFrame *frame, int plane, Rect r, guint8 value) {
  auto *data = static_cast<guint8 *>(GST_VIDEO_FRAME_PLANE_DATA(frame, plane));
  int stride = GST_VIDEO_FRAME_PLANE_STRIDE(frame, plane);
  for (int y = r.y; y < r.y + r.h; y++)
    for (int x = r.x; x < r.x + r.w; x++)
      data[y * stride + x] = value;
}

// The mean luma of the block's middle half: its edges bleed into neighbours
// after lossy coding.
int mean_luma(const GstVideoFrame *frame, Rect r) {
  auto *data = static_cast<const guint8 *>(GST_VIDEO_FRAME_PLANE_DATA(frame, 0));
  int stride = GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0);
  int sum = 0, count = 0;
  for (int y = r.y + r.h / 4; y < r.y + r.h - r.h / 4; y++)
    for (int x = r.x + r.w / 4; x < r.x + r.w - r.w / 4; x++, count++)
      sum += data[y * stride + x];
  return count ? sum / count : 0;
}

} // namespace

void draw_stamp(GstVideoFrame *frame, uint32_t value) {
  for (int i = 0; i < kStampBits; i++) {
    bool bit = (value >> (kStampBits - 1 - i)) & 1;
    for (int row = 0; row < 2; row++) {
      Rect r = block(frame, i, row);
      fill(frame, 0, r, (bit != (row == 1)) ? kWhite : kBlack);
      // Grey chroma, so the blocks are white and black, not tinted by the picture below.
      Rect c{r.x / 2, r.y / 2, (r.w + 1) / 2, (r.h + 1) / 2};
      fill(frame, 1, c, 128);
      fill(frame, 2, c, 128);
    }
  }
}

std::optional<uint32_t> read_stamp(const GstVideoFrame *frame) {
  uint32_t value = 0;
  for (int i = 0; i < kStampBits; i++) {
    int bit = mean_luma(frame, block(frame, i, 0));
    int inverse = mean_luma(frame, block(frame, i, 1));
    if (std::abs(bit - inverse) < kMinContrast)
      return std::nullopt;
    value = (value << 1) | (bit > inverse ? 1u : 0u);
  }
  return value;
}

uint32_t stamp_now() {
  return uint32_t(g_get_real_time());
}

} // namespace webrtccall::bench
