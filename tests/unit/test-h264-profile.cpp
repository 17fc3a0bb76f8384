// H.264 profile-level-id: parsing, what a sink pad's caps say, and which
// offered profile can decode which stream.
#include "h264_profile.hpp"

#include <gst/gst.h>

using namespace webrtccall::h264;

namespace {

// Compares a returned std::string. g_assert_cmpstr on a temporary's .c_str()
// keeps the pointer past the temporary's end (the macro copies it into a local
// first), so it compares freed memory: AddressSanitizer reports it.
void expect_str(const std::string &got, const char *want) {
  g_assert_cmpstr(got.c_str(), ==, want);
}

ProfileLevelId id(const char *hex) {
  auto parsed = parse(hex);
  if (!parsed)
    g_error("%s did not parse", hex);
  return *parsed;
}

void test_parse_and_print() {
  expect_str(id("42e01f").to_string(), "42e01f");
  expect_str(id("64001F").to_string(), "64001f");
  g_assert_cmpuint(id("4d0028").level_idc, ==, 40);
  g_assert_false(parse(nullptr).has_value());
  g_assert_false(parse("").has_value());
  g_assert_false(parse("42e01").has_value());
  g_assert_false(parse("42e01f0").has_value());
  g_assert_false(parse("42g01f").has_value());
}

// As libwebrtc classifies the ids browsers send.
void test_profiles() {
  g_assert_true(id("42e01f").profile() == Profile::kConstrainedBaseline);
  g_assert_true(id("42c01f").profile() == Profile::kConstrainedBaseline); // x264enc's
  g_assert_true(id("4d801f").profile() == Profile::kConstrainedBaseline);
  g_assert_true(id("42001f").profile() == Profile::kBaseline);
  g_assert_true(id("4d001f").profile() == Profile::kMain);
  g_assert_true(id("64001f").profile() == Profile::kHigh);
  g_assert_true(id("640c1f").profile() == Profile::kConstrainedHigh);
  g_assert_true(id("f4001f").profile() == Profile::kOther);
}

ProfileLevelId from_caps(const char *caps_text) {
  g_autoptr(GstCaps) caps = gst_caps_from_string(caps_text);
  return of_stream(caps);
}

void test_of_stream() {
  expect_str(from_caps("video/x-h264").to_string(), "42e01f");
  expect_str(from_caps("video/x-h264,profile=constrained-baseline,level=(string)2.1").to_string(),
             "42e015");
  expect_str(from_caps("video/x-h264,profile=main,level=(string)4").to_string(), "4d0028");
  expect_str(from_caps("video/x-h264,profile=high").to_string(), "64001f");
  expect_str(from_caps("video/x-h264,level=(string)1b").to_string(), "42e00b");
  // Unfixed fields (an encoder's template) say nothing.
  expect_str(from_caps("video/x-h264,profile={main,high}").to_string(), "42e01f");
  expect_str(of_stream(nullptr).to_string(), "42e01f");
}

void test_decodes() {
  ProfileLevelId cb = id("42e01f"), baseline = id("42001f"), main = id("4d001f"),
                 high = id("64001f"), constrained_high = id("640c1f");
  // Constrained Baseline is in every family.
  for (const auto &offered : {cb, baseline, main, high, constrained_high})
    g_assert_true(decodes(offered, cb));
  g_assert_true(decodes(high, main));
  g_assert_true(decodes(high, constrained_high));
  g_assert_false(decodes(cb, high));
  g_assert_false(decodes(main, high));
  g_assert_false(decodes(main, baseline));
  g_assert_false(decodes(cb, main));
  g_assert_true(decodes(id("f4001f"), id("f40028")));
  g_assert_false(decodes(high, id("f4001f")));
  // Levels do not refuse a call.
  g_assert_true(decodes(id("42e00a"), id("42e034")));
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/h264/parse-and-print", test_parse_and_print);
  g_test_add_func("/h264/profiles", test_profiles);
  g_test_add_func("/h264/of-stream", test_of_stream);
  g_test_add_func("/h264/decodes", test_decodes);
  return g_test_run();
}
