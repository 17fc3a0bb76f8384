// webrtccall-loadgen: many signaling clients from one process against a
// signaling server, with a JSON report of what it measured (docs/loadgen.md).
#include "options.hpp"
#include "runner.hpp"
#include "summary.hpp"

#include <glib.h>

#include <cstdio>

using namespace webrtccall::loadgen;

int main(int argc, char **argv) {
  Options options;
  if (!parse_options(argc, argv, options))
    return 2;
  Summary summary;
  Runner runner(options);
  if (!runner.run(summary))
    return 2;
  std::string report = summary_json(summary);
  if (options.output == "-") {
    std::fputs(report.c_str(), stdout);
  } else {
    g_autoptr(GError) error = nullptr;
    if (!g_file_set_contents(options.output.c_str(), report.c_str(), gssize(report.size()),
                             &error)) {
      std::fprintf(stderr, "webrtccall-loadgen: %s\n", error->message);
      return 2;
    }
  }
  if (!options.quiet)
    std::fprintf(stderr,
                 "webrtccall-loadgen: %s: %" G_GUINT64_FORMAT " errors, %" G_GUINT64_FORMAT
                 " lost, %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " set-ups completed\n",
                 summary.ok() ? "ok" : "FAILED", summary.errors->total(),
                 summary.relay_sent - summary.relay_received, summary.setups_completed,
                 summary.setups_due);
  return summary.ok() ? 0 : 1;
}
