// libFuzzer harness for the RESP side: arbitrary bytes go through the parser
// and every command of the table (a real RespHandler over a small engine);
// nothing may crash, hang or read out of bounds.
// Run: fuzz/run (docs/fuzzing.md), or by hand:
// ASAN_OPTIONS=detect_leaks=0 build-fuzz/fuzz/resp_fuzz fuzz/corpus/resp_fuzz
// (LeakSanitizer cannot see pointers stored in the mmap'd slab arena, so
// container objects owned by items look leaked; leaks are checked by the
// ASan unit tests instead, whose engines are destroyed.)
#include <cstddef>
#include <cstdint>
#include <string>

#include "cache/protocol/resp/resp_handler.h"
#include "cache/testing/test_core.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata::cache;
  static testing::TestCore* core = new testing::TestCore();
  static resp::CommandTable table = resp::BuildCommandTable();
  resp::RespHandler handler(&core->core, &table, 1);
  std::string in(reinterpret_cast<const char*>(data), size);
  std::string out;
  size_t pos = 0;
  for (int rounds = 0; rounds < 1000 && pos < in.size(); rounds++) {
    ProcessOutcome o = handler.Process(std::string_view(in).substr(pos), &out);
    if (o.close || o.consumed == 0) break;  // closed, blocked or incomplete
    pos += o.consumed;
    out.clear();
  }
  return 0;
}
