// webrtccall-cli: a calling endpoint on the command line. Logs in to a
// webrtccall signaling server, calls --call PEER or waits for a call, sends
// the camera and microphone (or test sources), shows, plays and records the
// peer, and says how the call ended in its exit status (docs/cli.md).
#include "devices.hpp"
#include "endpoint.hpp"
#include "exit_status.hpp"
#include "options.hpp"
#include "terminal.hpp"

#include <gst/gst.h>

using namespace webrtccall::cli;

namespace {

// Probing devices wakes sound servers and camera drivers: only when a device
// may be used.
bool needs_devices(const Options &options) {
  auto maybe_device = [](const SourceChoice &choice) {
    return choice.kind == SourceChoice::Kind::kAuto || choice.kind == SourceChoice::Kind::kDevice;
  };
  return options.list_devices || !options.headless || maybe_device(options.video) ||
         maybe_device(options.audio);
}

} // namespace

int main(int argc, char **argv) {
  Options options;
  bool exit_now = false;
  std::string error;
  Terminal terminal;
  // Parses GStreamer's own options too (--gst-debug=...), and initialises it.
  if (!parse_options(argc, argv, options, exit_now, error)) {
    terminal.error(error + "\nTry webrtccall-cli --help.");
    return int(ExitStatus::kUsage);
  }
  if (exit_now)
    return 0;

  Devices devices;
  if (needs_devices(options))
    devices = find_devices();
  if (options.list_devices) {
    print_devices(devices);
    return 0;
  }

  Endpoint endpoint(options, terminal);
  if (auto failed = endpoint.build(devices))
    return int(*failed);
  return int(endpoint.run());
}
