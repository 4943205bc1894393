// libFuzzer harness for the local cluster's config file
// (cli/config/local_cluster_config.h): the input is a `strata up --config`
// file, written to a scratch file and read by LoadLocalClusterConfig as
// `strata up` reads it. No file may crash or hang it; a refused file gets a
// message. What it accepts must be in the documented ranges, and must
// survive being saved as DIR/cluster.yaml: LocalClusterConfigYaml's text
// loads again to a config with the same text (the saved config is what
// every later `strata up` starts from, and equal text means equal configs).
// Run: fuzz/run --only cluster_config_fuzz
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "cli/config/local_cluster_config.h"
#include "fuzz_input.h"

namespace {

using strata::cli::LoadLocalClusterConfig;
using strata::cli::LocalClusterConfig;
using strata::cli::LocalClusterConfigYaml;
using strata::fuzz::Check;

const strata::fuzz::ScratchFile& Scratch() {
  static const strata::fuzz::ScratchFile file("cluster-config-fuzz");
  return file;
}

void CheckRanges(const LocalClusterConfig& c) {
  Check(c.chunkservers >= 1 && c.chunkservers <= 64);
  Check(c.racks >= 1 && c.racks <= c.chunkservers);
  Check(c.disks_per_chunkserver >= 1 && c.disks_per_chunkserver <= 16);
  Check(c.blockservers >= 1 && c.blockservers <= 64);
  Check(c.nbd_port >= 0 && c.nbd_port <= 65535);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 8192) return 0;
  if (!Scratch().Write(std::string_view(reinterpret_cast<const char*>(data), size))) return 0;
  auto config = LoadLocalClusterConfig(Scratch().path());
  if (!config.ok()) {
    Check(!config.status().message().empty());
    return 0;
  }
  CheckRanges(*config);
  const std::string saved = LocalClusterConfigYaml(*config);
  if (!Scratch().Write(saved)) return 0;
  auto again = LoadLocalClusterConfig(Scratch().path());
  Check(again.ok());
  Check(LocalClusterConfigYaml(*again) == saved);
  return 0;
}
