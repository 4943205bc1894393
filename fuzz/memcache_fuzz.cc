// libFuzzer harness for the memcached text and meta protocol: arbitrary
// bytes through a real MemcacheHandler over a small engine.
// Run: fuzz/run (docs/fuzzing.md), or by hand:
// ASAN_OPTIONS=detect_leaks=0 build-fuzz/fuzz/memcache_fuzz fuzz/corpus/memcache_fuzz
// (LeakSanitizer cannot see pointers stored in the mmap'd slab arena, so
// container objects owned by items look leaked; leaks are checked by the
// ASan unit tests instead, whose engines are destroyed.)
#include <cstddef>
#include <cstdint>
#include <string>

#include "cache/protocol/memcache/memcache_handler.h"
#include "cache/testing/test_core.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata::cache;
  static testing::TestCore* core = new testing::TestCore();
  memcache::MemcacheHandler handler(&core->core, 1);
  std::string in(reinterpret_cast<const char*>(data), size);
  std::string out;
  size_t pos = 0;
  for (int rounds = 0; rounds < 1000 && pos < in.size(); rounds++) {
    ProcessOutcome o = handler.Process(std::string_view(in).substr(pos), &out);
    if (o.close || o.consumed == 0) break;
    pos += o.consumed;
    out.clear();
  }
  return 0;
}
