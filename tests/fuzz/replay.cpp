// Replays inputs through a libFuzzer target without libFuzzer, built by meson
// with the rest of the project (gcc): in the sanitizer build (tools/test's
// build-asan), every past crash and every seed of a target runs through our
// code as gcc's AddressSanitizer and UndefinedBehaviorSanitizer build it, with
// leak checking on, beside clang's fuzz runs (docs/testing.md, "Fuzzing").
//
// usage: fuzz-replay-TARGET DIR...   one TAP case per folder that holds
// inputs: each of its files runs through the target once. A finding aborts
// the process (the target's own checks abort; the sanitizers end it), which
// fails the test.
#include <glib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size);
// Defined by the targets that need it (fuzz_router.cpp).
extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

namespace {

// The files of `dir`, sorted, leaving out hidden ones.
std::vector<std::string> inputs(const char *dir) {
  std::vector<std::string> files;
  g_autoptr(GError) error = nullptr;
  g_autoptr(GDir) handle = g_dir_open(dir, 0, &error);
  if (!handle)
    return files; // the caller reports an empty or missing folder
  while (const char *name = g_dir_read_name(handle))
    if (name[0] != '.') {
      g_autofree char *path = g_build_filename(dir, name, nullptr);
      files.emplace_back(path);
    }
  std::sort(files.begin(), files.end());
  return files;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR...\n", argv[0]);
    return 2;
  }
  // An empty folder is no case (a target may have no past crash yet), but a run with no
  // input at all would pass while testing nothing.
  std::vector<std::pair<std::string, std::vector<std::string>>> folders;
  for (int i = 1; i < argc; i++) {
    std::vector<std::string> files = inputs(argv[i]);
    if (files.empty())
      std::printf("# %s: no input\n", argv[i]);
    else
      folders.emplace_back(argv[i], std::move(files));
  }
  if (folders.empty()) {
    std::printf("1..1\nnot ok 1 no input to replay in %d folders\n", argc - 1);
    return 1;
  }
  if (LLVMFuzzerInitialize)
    LLVMFuzzerInitialize(&argc, &argv);
  std::printf("1..%zu\n", folders.size());
  for (std::size_t i = 0; i < folders.size(); i++) {
    const auto &[dir, files] = folders[i];
    for (const std::string &file : files) {
      std::fprintf(stderr, "replaying %s\n", file.c_str());
      g_autoptr(GError) error = nullptr;
      g_autofree char *contents = nullptr;
      gsize length = 0;
      if (!g_file_get_contents(file.c_str(), &contents, &length, &error)) {
        std::printf("not ok %zu %s: cannot read %s: %s\n", i + 1, dir.c_str(), file.c_str(),
                    error->message);
        return 1;
      }
      // A copy of the exact size, as libFuzzer passes it, so that ASan sees a read past its end.
      std::vector<std::uint8_t> data(contents, contents + length);
      LLVMFuzzerTestOneInput(data.data(), data.size());
    }
    std::printf("ok %zu %s: %zu inputs run clean\n", i + 1, dir.c_str(), files.size());
    std::fflush(stdout);
  }
  return 0;
}
