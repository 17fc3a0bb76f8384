// The tests' filter of GStreamer 1.22.0's known critical
// (tests/lib/upstream_criticals.hpp): the very message GLib gives for a hash
// table changed inside its g_hash_table_foreach goes through, any other
// critical still ends the test.
#include "upstream_criticals.hpp"

#include <glib.h>

#include <string>

using webrtccall::test::tolerate_upstream_criticals;

namespace {

// What rtpsession 1.22.0 does when another thread adds a source while its
// RTCP thread has let go of the lock inside the loop.
void change_inside_foreach() {
  GHashTable *table = g_hash_table_new(g_direct_hash, g_direct_equal);
  g_hash_table_insert(table, GINT_TO_POINTER(1), GINT_TO_POINTER(1));
  g_hash_table_foreach(
      table,
      [](gpointer, gpointer, gpointer data) {
        g_hash_table_insert(static_cast<GHashTable *>(data), GINT_TO_POINTER(2),
                            GINT_TO_POINTER(2));
      },
      table);
  g_hash_table_unref(table);
}

void test_rtpsession_race_goes_through() {
  if (g_test_subprocess()) {
    tolerate_upstream_criticals();
    change_inside_foreach();
    return; // reached only if the critical was not fatal
  }
  g_test_trap_subprocess(nullptr, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed();
  g_test_trap_assert_stderr("*g_hash_table_foreach: assertion 'version == hash_table->version'*");
}

// g_test's subprocesses do not speak TAP, so this one runs the binary again
// itself, with --tap as meson does, and reads what meson would read.
constexpr const char *kChildEnv = "UPSTREAM_CRITICALS_TAP_CHILD";

void test_rtpsession_race_does_not_bail_out_of_tap() {
  const char *self = g_getenv("UPSTREAM_CRITICALS_SELF");
  g_assert_nonnull(self);
  const char *argv[] = {self, "--tap", nullptr};
  char **envp = g_environ_setenv(g_get_environ(), kChildEnv, "1", TRUE);
  char *out = nullptr, *err = nullptr;
  int status = 0;
  GError *error = nullptr;
  g_assert_true(g_spawn_sync(nullptr, const_cast<char **>(argv), envp, G_SPAWN_DEFAULT, nullptr,
                             nullptr, &out, &err, &status, &error));
  g_assert_no_error(error);
  const std::string stdout_text = out, stderr_text = err;
  g_free(out);
  g_free(err);
  g_strfreev(envp);
  g_assert_true(g_spawn_check_wait_status(status, nullptr));
  g_assert_true(stdout_text.find("ok 1 /upstream-criticals-child/race") != std::string::npos);
  // In a later test case too: g_test clears the fatal handler at each case's start.
  g_assert_true(stdout_text.find("ok 2 /upstream-criticals-child/race-in-a-later-case") !=
                std::string::npos);
  g_assert_true(stdout_text.find("Bail out!") == std::string::npos);
  g_assert_true(stderr_text.find("GLib-CRITICAL") != std::string::npos);
}

void test_other_criticals_stay_fatal() {
  if (g_test_subprocess()) {
    tolerate_upstream_criticals();
    g_hash_table_foreach(nullptr, nullptr, nullptr); // GLib: 'hash_table != NULL' failed
    return;
  }
  g_test_trap_subprocess(nullptr, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed();
  g_test_trap_assert_stderr("*hash_table != NULL*");
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  if (g_getenv(kChildEnv)) {
    for (const char *path :
         {"/upstream-criticals-child/race", "/upstream-criticals-child/race-in-a-later-case"})
      g_test_add_func(path, [] {
        tolerate_upstream_criticals();
        change_inside_foreach();
      });
    return g_test_run();
  }
  g_setenv("UPSTREAM_CRITICALS_SELF", argv[0], TRUE);
  g_test_add_func("/upstream-criticals/rtpsession-race-goes-through",
                  test_rtpsession_race_goes_through);
  g_test_add_func("/upstream-criticals/rtpsession-race-does-not-bail-out-of-tap",
                  test_rtpsession_race_does_not_bail_out_of_tap);
  g_test_add_func("/upstream-criticals/other-criticals-stay-fatal",
                  test_other_criticals_stay_fatal);
  return g_test_run();
}
