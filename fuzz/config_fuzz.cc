// libFuzzer harness for the YAML config parsers (common/config.h and a
// role's options): the rest of the input after the first byte is a config
// file, written to a scratch file and read as the role reads it. The first
// byte picks the target:
//   0  LoadMasterOptions (LoadYamlFile, ConfigNode's typed getters, the
//      master's keys and Validate): no file may crash it, and what it
//      accepts must validate;
//   1  ParseByteSize on the text ("64K", "4GiB"): what it accepts must be a
//      whole number of bytes that its own output ("<n>") parses back to;
//   2  LoadBlockManagerOptions, then Validate on what it loaded;
//   3  BlockServerOptions::LoadFile, then Validate on what it loaded: no
//      file may crash either.
// Run: fuzz/run, or build-fuzz/fuzz/config_fuzz fuzz/corpus/config_fuzz
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "block/manager/blockmanager_options.h"
#include "block/server/blockserver_options.h"
#include "common/config.h"
#include "dfs/master/master_options.h"
#include "fuzz_input.h"

namespace {

using strata::fuzz::Check;

const strata::fuzz::ScratchFile& Scratch() {
  static const strata::fuzz::ScratchFile file("config-fuzz");
  return file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 4096) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      if (!Scratch().Write(in)) return 0;
      auto options = strata::dfs::master::LoadMasterOptions(Scratch().path());
      if (options.ok()) Check(options->Validate().ok());
      break;
    }
    case 1: {
      auto bytes = strata::ParseByteSize(std::string(in));
      if (bytes.ok()) {
        auto again = strata::ParseByteSize(std::to_string(*bytes));
        Check(again.ok() && *again == *bytes);
      }
      break;
    }
    case 2: {
      if (!Scratch().Write(in)) return 0;
      auto options = strata::block::manager::LoadBlockManagerOptions(Scratch().path());
      if (options.ok()) (void)options->Validate();
      break;
    }
    default: {
      if (!Scratch().Write(in)) return 0;
      strata::block::BlockServerOptions options;
      if (options.LoadFile(Scratch().path()).ok()) (void)options.Validate();
      break;
    }
  }
  return 0;
}
