// Helpers the libFuzzer harnesses share: a check that stops the run on a
// broken invariant, reading fields off the front of the input, and a
// scratch file for parsers that read a path.
//
// Thread-safety: a harness runs one input at a time (-jobs=1 per process).
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace strata::fuzz {

// A failed invariant: libFuzzer records the input as a crash.
inline void Check(bool ok) {
  if (!ok) __builtin_trap();
}

// The next `bytes` bytes of `in` as a big-endian number (fewer at its end).
inline uint64_t Take(std::string_view& in, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes && !in.empty(); ++i) {
    v = (v << 8) | static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
  }
  return v;
}

// The next `n` bytes of `in` (fewer at its end).
inline std::string_view TakeBytes(std::string_view& in, size_t n) {
  std::string_view out = in.substr(0, std::min(n, in.size()));
  in.remove_prefix(out.size());
  return out;
}

// /dev/shm/strata-<name>-<pid>.yaml, rewritten for each input.
class ScratchFile {
 public:
  explicit ScratchFile(const std::string& name)
      : path_("/dev/shm/strata-" + name + "-" + std::to_string(::getpid()) + ".yaml") {}
  const std::string& path() const { return path_; }
  bool Write(std::string_view text) const {
    FILE* f = std::fopen(path_.c_str(), "wb");
    if (!f) return false;
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    return std::fclose(f) == 0 && ok;
  }

 private:
  const std::string path_;
};

}  // namespace strata::fuzz
