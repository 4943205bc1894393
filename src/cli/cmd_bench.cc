// strata bench append: measures append latency and throughput of one dfs
// file from this client, for bench/dfs_append.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <vector>

#include "cli/admin_options.h"
#include "cli/commands.h"
#include "common/malloc_tuning.h"
#include "common/config.h"
#include "dfs/client/file_writer.h"
#include "env/random.h"

namespace strata::cli {
namespace {

struct BenchArgs {
  AdminOptions admin;
  std::string path = "/bench/append";
  std::string size = "4K";
  uint64_t count = 1000;
  std::string durability = "sync";
  uint32_t replication = 3;
  std::string window = "0";
};

Status RunAppendBench(const BenchArgs& a) {
  ASSIGN_OR_RETURN(uint64_t size, ParseByteSize(a.size));
  if (size == 0 || size > (64u << 20)) return Status::InvalidArgument("--size must be 1..64M");
  if (a.count == 0) return Status::InvalidArgument("--count must be > 0");
  ASSIGN_OR_RETURN(auto client, ConnectDfs(a.admin));
  auto parent = a.path.substr(0, a.path.rfind('/'));
  if (!parent.empty()) RETURN_IF_ERROR(client->Mkdir(parent, true));
  dfs::CreateOptions co;
  co.replication = a.replication;
  co.overwrite = true;
  ASSIGN_OR_RETURN(co.durability, ParseDurability(a.durability));
  RETURN_IF_ERROR(client->Create(a.path, co).status());
  ASSIGN_OR_RETURN(uint64_t window, ParseByteSize(a.window));
  ASSIGN_OR_RETURN(auto writer, client->OpenWriter(a.path));
  std::string buf(size, '\0');
  Random rnd(42);
  rnd.Fill(buf.data(), buf.size());
  // Latency of each append: from Append() to its acknowledgement (with a
  // window, Append() returns earlier and the writer reports it).
  std::vector<double> lat_us;
  lat_us.reserve(a.count);
  writer->SetWindow(window);
  writer->OnAcknowledged([&](uint64_t, uint64_t latency_us) { lat_us.push_back(static_cast<double>(latency_us)); });
  auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < a.count; ++i) {
    buf[0] = static_cast<char>(i);
    RETURN_IF_ERROR(writer->Append(buf));
  }
  RETURN_IF_ERROR(writer->Flush());
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RETURN_IF_ERROR(writer->Close());
  if (lat_us.empty()) return Status::Internal("no append was acknowledged");
  std::sort(lat_us.begin(), lat_us.end());
  auto pct = [&](double q) { return lat_us[std::min(lat_us.size() - 1, static_cast<size_t>(q * lat_us.size()))]; };
  nlohmann::json out = {
      {"size_bytes", size},
      {"count", a.count},
      {"durability", a.durability},
      {"replication", a.replication},
      {"mib_per_sec", static_cast<double>(size * a.count) / (1 << 20) / secs},
      {"p50_us", pct(0.50)},
      {"p99_us", pct(0.99)},
      {"window_bytes", window},
      {"chunks_sealed_early", writer->stats().chunks_sealed_early},
  };
  std::cout << out.dump() << "\n";
  return Status::Ok();
}

}  // namespace

void RegisterBenchCommand(CLI::App& app, int* exit_code) {
  auto* bench = app.add_subcommand("bench", "Measure this cluster from a client");
  bench->require_subcommand(1);
  auto args = std::make_shared<BenchArgs>();
  auto* append = bench->add_subcommand("append", "Append latency and throughput to one file (prints JSON)");
  AddAdminOptions(append, &args->admin);
  append->add_option("--path", args->path, "File to (over)write");
  append->add_option("--size", args->size, "Bytes per append, e.g. 4K or 1M");
  append->add_option("--count", args->count, "Number of appends");
  append->add_option("--durability", args->durability, "sync or memory");
  append->add_option("--replication", args->replication, "Replicas");
  append->add_option("--window", args->window,
                     "Bytes appended ahead of their acknowledgement (e.g. 4M); 0: one append at a time");
  append->callback([=] {
    KeepLargeBuffersInHeap();
    Status st = RunAppendBench(*args);
    *exit_code = st.ok() ? 0 : ReportError(st);
  });
}

}  // namespace strata::cli
