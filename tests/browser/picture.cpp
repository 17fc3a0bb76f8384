#include "picture.hpp"

#include "call_endpoint.hpp"

#include <cstdlib>

namespace webrtccall::test {

namespace {

// The mean colour of a small patch centred on (fx, fy), fractions of the size.
void patch_colour(const std::vector<guint8> &rgb, int width, int height, double fx, double fy,
                  int out[3]) {
  int cx = int(fx * width), cy = int(fy * height);
  long sum[3] = {0, 0, 0};
  int n = 0;
  for (int y = cy - 2; y <= cy + 2; y++)
    for (int x = cx - 2; x <= cx + 2; x++) {
      if (x < 0 || y < 0 || x >= width || y >= height)
        continue;
      for (int c = 0; c < 3; c++)
        sum[c] += rgb[(size_t(y) * width + x) * 3 + c];
      n++;
    }
  for (int c = 0; c < 3; c++)
    out[c] = n ? int(sum[c] / n) : 0;
}

} // namespace

PictureCheck check_picture(const std::vector<guint8> &rgb, int width, int height) {
  if (width <= 0 || height <= 0 || rgb.size() < size_t(width) * height * 3)
    return {"none", "no frame yet"};
  std::string smpte_why;
  if (looks_like_smpte(rgb, width, height, smpte_why))
    return {"smpte", ""};
  // bob's field is orange (255,128,0) with a moving ball, which covers a few
  // of a 5x5 grid's points at most; the same rule as checks.mjs, loose since
  // the picture went through a codec and two colour conversions.
  int orange = 0;
  for (int i = 0; i < 5; i++)
    for (int j = 0; j < 5; j++) {
      int c[3];
      patch_colour(rgb, width, height, (i + 0.5) / 5, (j + 0.5) / 5, c);
      if (std::abs(c[0] - 255) <= 70 && std::abs(c[1] - 128) <= 70 && std::abs(c[2]) <= 70)
        orange++;
    }
  if (orange >= 18)
    return {"orange", ""};
  int centre[3];
  patch_colour(rgb, width, height, 0.5, 0.5, centre);
  return {"other", "not SMPTE (" + smpte_why + "); " + std::to_string(orange) +
                       "/25 orange points; centre " + std::to_string(centre[0]) + "," +
                       std::to_string(centre[1]) + "," + std::to_string(centre[2])};
}

} // namespace webrtccall::test
