// webrtccall-cli's command line: what the user asked for, checked, before
// anything is built.
#pragma once

#include <string>

namespace webrtccall::cli {

// Where a kind of media comes from (--video, --audio).
struct SourceChoice {
  enum class Kind { kAuto, kTest, kDevice, kFile, kNone };
  Kind kind = Kind::kAuto;
  std::string value; // the device's name or path, or the file
};

enum class VideoCodec { kVP8, kVP9, kH264 };
enum class AudioCodec { kOpus, kPCMU, kPCMA };

struct Options {
  std::string server = "ws://127.0.0.1:9090";
  std::string user;
  std::string call; // empty: wait for a call
  bool auto_answer = false;
  SourceChoice video;
  SourceChoice audio;
  VideoCodec codec = VideoCodec::kVP8;
  AudioCodec audio_codec = AudioCodec::kOpus;
  int width = 640, height = 480;
  std::string record; // empty: no recording
  bool headless = false;
  unsigned call_timeout_s = 30;
  unsigned reconnect_timeout_s = 10;
  std::string ice_addresses;
  std::string stun_server;
  std::string turn_server;
  std::string token;       // login token, for a server with --auth-secret
  std::string tls_ca_file; // CAs trusted for a wss:// server
  bool tls_insecure = false;
  bool list_devices = false;
};

// Fills `options` from argv. False with `error` set when the command line is
// wrong (say it and exit with ExitStatus::kUsage); `exit_now` is set when an
// option such as --version has already done all there was to do.
bool parse_options(int argc, char **argv, Options &options, bool &exit_now, std::string &error);

const char *codec_name(VideoCodec codec);
const char *codec_name(AudioCodec codec);

} // namespace webrtccall::cli
