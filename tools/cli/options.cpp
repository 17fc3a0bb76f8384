#include "options.hpp"

#include <gst/gst.h>

#include <cstdio>

namespace webrtccall::cli {

namespace {

// --video and --audio: a keyword, a file that exists, or else a device name.
SourceChoice parse_source(const char *value) {
  SourceChoice choice;
  if (!value || g_str_equal(value, "auto"))
    return choice;
  if (g_str_equal(value, "test"))
    choice.kind = SourceChoice::Kind::kTest;
  else if (g_str_equal(value, "none"))
    choice.kind = SourceChoice::Kind::kNone;
  else if (g_file_test(value, G_FILE_TEST_IS_REGULAR))
    choice.kind = SourceChoice::Kind::kFile;
  else
    choice.kind = SourceChoice::Kind::kDevice;
  choice.value = value ? value : "";
  return choice;
}

bool parse_video_codec(const char *value, VideoCodec &codec) {
  if (!value)
    return true;
  g_autofree char *lower = g_ascii_strdown(value, -1);
  if (g_str_equal(lower, "vp8"))
    codec = VideoCodec::kVP8;
  else if (g_str_equal(lower, "vp9"))
    codec = VideoCodec::kVP9;
  else if (g_str_equal(lower, "h264") || g_str_equal(lower, "h.264"))
    codec = VideoCodec::kH264;
  else
    return false;
  return true;
}

bool parse_audio_codec(const char *value, AudioCodec &codec) {
  if (!value)
    return true;
  g_autofree char *lower = g_ascii_strdown(value, -1);
  if (g_str_equal(lower, "opus"))
    codec = AudioCodec::kOpus;
  else if (g_str_equal(lower, "pcmu"))
    codec = AudioCodec::kPCMU;
  else if (g_str_equal(lower, "pcma"))
    codec = AudioCodec::kPCMA;
  else
    return false;
  return true;
}

// Where the recording goes must exist: finding out when the call ends would
// lose the call.
bool check_record_path(const std::string &path, std::string &error) {
  g_autofree char *dir = g_path_get_dirname(path.c_str());
  if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
    error = "--record: the folder " + std::string(dir) + " does not exist; create it first.";
    return false;
  }
  if (g_file_test(path.c_str(), G_FILE_TEST_IS_DIR)) {
    error = "--record: " + path + " is a folder; give a file name such as call.mkv.";
    return false;
  }
  return true;
}

bool read_first_line(const char *path, std::string &line, std::string &error) {
  g_autofree char *contents = nullptr;
  g_autoptr(GError) read_error = nullptr;
  if (!g_file_get_contents(path, &contents, nullptr, &read_error)) {
    error = std::string("--token-file: ") + read_error->message;
    return false;
  }
  line = g_strstrip(g_strdelimit(contents, "\r\n", '\0'));
  if (line.empty()) {
    error = std::string("--token-file: ") + path + " has no token on its first line.";
    return false;
  }
  return true;
}

} // namespace

const char *codec_name(VideoCodec codec) {
  switch (codec) {
  case VideoCodec::kVP8:
    return "VP8";
  case VideoCodec::kVP9:
    return "VP9";
  case VideoCodec::kH264:
    return "H.264";
  }
  return "?";
}

const char *codec_name(AudioCodec codec) {
  switch (codec) {
  case AudioCodec::kOpus:
    return "Opus";
  case AudioCodec::kPCMU:
    return "PCMU";
  case AudioCodec::kPCMA:
    return "PCMA";
  }
  return "?";
}

bool parse_options(int argc, char **argv, Options &options, bool &exit_now, std::string &error) {
  exit_now = false;
  g_autofree char *server = nullptr, *user = nullptr, *call = nullptr, *video = nullptr,
                  *audio = nullptr, *codec = nullptr, *audio_codec = nullptr, *size = nullptr,
                  *record = nullptr, *ice_addresses = nullptr, *stun = nullptr, *turn = nullptr,
                  *token = nullptr, *token_file = nullptr, *tls_ca_file = nullptr;
  gboolean auto_answer = FALSE, headless = FALSE, list_devices = FALSE, version = FALSE,
           tls_insecure = FALSE;
  int call_timeout = int(options.call_timeout_s);
  int reconnect_timeout = int(options.reconnect_timeout_s);

  GOptionEntry entries[] = {
      {"server", 's', 0, G_OPTION_ARG_STRING, &server,
       "WebSocket URL of the signaling server (default ws://127.0.0.1:9090)", "URL"},
      {"user", 'u', 0, G_OPTION_ARG_STRING, &user, "The name to log in as (required)", "NAME"},
      {"call", 'c', 0, G_OPTION_ARG_STRING, &call, "Call this user (default: wait for a call)",
       "PEER"},
      {"auto-answer", 'y', 0, G_OPTION_ARG_NONE, &auto_answer,
       "Answer incoming calls without asking", nullptr},
      {"video", 0, 0, G_OPTION_ARG_FILENAME, &video,
       "What to send as video: auto (the camera, else test), test, a camera (see "
       "--list-devices, or /dev/videoN), a media file, or none (default auto)",
       "SOURCE"},
      {"audio", 0, 0, G_OPTION_ARG_FILENAME, &audio,
       "What to send as audio: auto (the microphone, else test), test, a microphone (see "
       "--list-devices), a media file, or none (default auto)",
       "SOURCE"},
      {"codec", 0, 0, G_OPTION_ARG_STRING, &codec,
       "Video codec to send: vp8, vp9 or h264 (default vp8)", "CODEC"},
      {"audio-codec", 0, 0, G_OPTION_ARG_STRING, &audio_codec,
       "Audio codec to send: opus, pcmu or pcma (default opus)", "CODEC"},
      {"size", 0, 0, G_OPTION_ARG_STRING, &size, "Size of the video sent (default 640x480)", "WxH"},
      {"record", 'r', 0, G_OPTION_ARG_FILENAME, &record,
       "Record what the peer sends to this Matroska file", "FILE"},
      {"headless", 0, 0, G_OPTION_ARG_NONE, &headless,
       "Neither show nor play what the peer sends (the default without a display or speaker)",
       nullptr},
      {"timeout", 't', 0, G_OPTION_ARG_INT, &call_timeout,
       "Seconds a call may ring before it counts as not answered, either way (default 30; 0: "
       "no limit)",
       "S"},
      {"reconnect-timeout", 0, 0, G_OPTION_ARG_INT, &reconnect_timeout,
       "Seconds to keep trying to reach the signaling server (default 10; 0: give up at once)",
       "S"},
      {"ice-addresses", 0, 0, G_OPTION_ARG_STRING, &ice_addresses,
       "Comma-separated local addresses to use for media, e.g. 127.0.0.1 (default: every "
       "interface except loopback)",
       "ADDRESSES"},
      {"stun-server", 0, 0, G_OPTION_ARG_STRING, &stun, "STUN server, as stun://HOST:PORT", "URL"},
      {"turn-server", 0, 0, G_OPTION_ARG_STRING, &turn,
       "TURN server, as turn://USER:PASSWORD@HOST:PORT", "URL"},
      {"token", 0, 0, G_OPTION_ARG_STRING, &token,
       "Login token for a server that wants one (webrtccall-signaling --issue-token NAME). "
       "Other users of the machine can read a command line: prefer --token-file",
       "TOKEN"},
      {"token-file", 0, 0, G_OPTION_ARG_FILENAME, &token_file,
       "As --token, the token being this file's first line", "FILE"},
      {"tls-ca-file", 0, 0, G_OPTION_ARG_FILENAME, &tls_ca_file,
       "PEM file of the CAs trusted for a wss:// server (default: the system's)", "FILE"},
      {"tls-insecure", 0, 0, G_OPTION_ARG_NONE, &tls_insecure,
       "Accept any certificate from a wss:// server (test servers only)", nullptr},
      {"list-devices", 0, 0, G_OPTION_ARG_NONE, &list_devices,
       "List the cameras, microphones and speakers found, and exit", nullptr},
      {"version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", nullptr},
      {},
  };
  g_autoptr(GOptionContext) context = g_option_context_new("- make or take a WebRTC call");
  g_option_context_set_summary(
      context,
      "Logs in to a webrtccall signaling server, then calls --call PEER or waits for a call.\n"
      "Sends the camera and microphone (test sources when there are none), shows and plays\n"
      "the peer, and prints the call's progress. Ctrl-C hangs up.");
  g_option_context_set_description(
      context, "Exit status: 0 hung up, 1 failure outside the call, 2 bad usage, 3 server\n"
               "unreachable, 4 login refused, 5 declined, 6 busy, 7 no answer, 8 call failed,\n"
               "130 interrupted before any call. See docs/cli.md.");
  g_option_context_add_main_entries(context, entries, nullptr);
  g_option_context_add_group(context, gst_init_get_option_group());
  g_autoptr(GError) parse_error = nullptr;
  if (!g_option_context_parse(context, &argc, &argv, &parse_error)) {
    error = parse_error->message;
    return false;
  }
  if (version) {
    std::printf("webrtccall-cli %s\n", WEBRTCCALL_VERSION);
    exit_now = true;
    return true;
  }
  options.list_devices = list_devices;
  if (list_devices)
    return true;
  if (argc > 1) {
    error = std::string("unexpected argument \"") + argv[1] + "\"";
    return false;
  }
  if (!user || !*user) {
    error = "--user NAME is required: the name to log in as.";
    return false;
  }
  options.user = user;
  if (server)
    options.server = server;
  if (!g_str_has_prefix(options.server.c_str(), "ws://") &&
      !g_str_has_prefix(options.server.c_str(), "wss://")) {
    error = "--server must be a ws:// or wss:// URL, e.g. ws://127.0.0.1:9090.";
    return false;
  }
  if (call) {
    options.call = call;
    if (options.call == options.user) {
      error = "--call: you cannot call yourself; give another user's name.";
      return false;
    }
  }
  options.auto_answer = auto_answer;
  options.headless = headless;
  options.video = parse_source(video);
  options.audio = parse_source(audio); // both none: receive only, which the element allows
  if (!parse_video_codec(codec, options.codec)) {
    error = std::string("--codec must be vp8, vp9 or h264, not \"") + codec + "\".";
    return false;
  }
  if (!parse_audio_codec(audio_codec, options.audio_codec)) {
    error = std::string("--audio-codec must be opus, pcmu or pcma, not \"") + audio_codec + "\".";
    return false;
  }
  if (size) {
    char tail = 0;
    if (std::sscanf(size, "%dx%d%c", &options.width, &options.height, &tail) != 2 ||
        options.width < 16 || options.height < 16 || options.width > 4096 ||
        options.height > 4096 || options.width % 2 || options.height % 2) {
      error = std::string("--size must look like 640x480 (even numbers, 16 to 4096), not \"") +
              size + "\".";
      return false;
    }
  }
  if (record) {
    options.record = record;
    if (!check_record_path(options.record, error))
      return false;
  }
  if (call_timeout < 0 || call_timeout > 3600 || reconnect_timeout < 0 ||
      reconnect_timeout > 3600) {
    error = "--timeout and --reconnect-timeout must be 0 to 3600 seconds.";
    return false;
  }
  options.call_timeout_s = unsigned(call_timeout);
  options.reconnect_timeout_s = unsigned(reconnect_timeout);
  if (ice_addresses)
    options.ice_addresses = ice_addresses;
  if (stun)
    options.stun_server = stun;
  if (turn)
    options.turn_server = turn;
  if (token && token_file) {
    error = "give --token or --token-file, not both.";
    return false;
  }
  if (token)
    options.token = token;
  if (token_file && !read_first_line(token_file, options.token, error))
    return false;
  if (tls_ca_file)
    options.tls_ca_file = tls_ca_file;
  options.tls_insecure = tls_insecure;
  return true;
}

} // namespace webrtccall::cli
