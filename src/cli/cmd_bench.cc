// strata bench append: measures append latency and throughput of one dfs
// file from this client, for bench/dfs_append. strata bench meta: metadata
// operations (create, stat, rename, delete) one after another, for
// bench/master_ops.
#include <algorithm>
#include <chrono>
#include <functional>
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

struct MetaBenchArgs {
  AdminOptions admin;
  std::string path = "/bench/meta";
  uint64_t count = 1000;
};

// `count` files created, stated, renamed and deleted under `path` (emptied
// first), one operation at a time; ops/s, p50 and p99 per kind as JSON.
Status RunMetaBench(const MetaBenchArgs& a) {
  if (a.count == 0 || a.count > 1000000) return Status::InvalidArgument("--count must be 1..1000000");
  if (a.path.empty() || a.path[0] != '/' || a.path == "/") return Status::InvalidArgument("--path must be a directory below /");
  ASSIGN_OR_RETURN(auto client, ConnectDfs(a.admin));
  if (client->Stat(a.path).ok()) RETURN_IF_ERROR(client->Delete(a.path, /*recursive=*/true));
  RETURN_IF_ERROR(client->Mkdir(a.path, true));
  nlohmann::json out = {{"count", a.count}};
  auto phase = [&](const char* kind, const std::function<Status(uint64_t)>& op) -> Status {
    std::vector<double> lat_us;
    lat_us.reserve(a.count);
    auto start = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < a.count; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      RETURN_IF_ERROR(op(i).WithContext(std::string(kind) + " #" + std::to_string(i)));
      lat_us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::sort(lat_us.begin(), lat_us.end());
    auto pct = [&](double q) { return lat_us[std::min(lat_us.size() - 1, static_cast<size_t>(q * lat_us.size()))]; };
    out[kind] = {{"ops_per_sec", static_cast<double>(a.count) / secs}, {"p50_us", pct(0.50)}, {"p99_us", pct(0.99)}};
    return Status::Ok();
  };
  auto name = [&](const char* prefix, uint64_t i) { return a.path + "/" + prefix + std::to_string(i); };
  dfs::CreateOptions co;
  RETURN_IF_ERROR(phase("create", [&](uint64_t i) { return client->Create(name("f", i), co).status(); }));
  RETURN_IF_ERROR(phase("stat", [&](uint64_t i) { return client->Stat(name("f", i)).status(); }));
  RETURN_IF_ERROR(phase("rename", [&](uint64_t i) { return client->Rename(name("f", i), name("g", i)); }));
  RETURN_IF_ERROR(phase("delete", [&](uint64_t i) { return client->Delete(name("g", i), false); }));
  RETURN_IF_ERROR(client->Delete(a.path, true));
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
  auto meta_args = std::make_shared<MetaBenchArgs>();
  auto* meta = bench->add_subcommand("meta", "Create, stat, rename and delete files one at a time (prints JSON)");
  AddAdminOptions(meta, &meta_args->admin);
  meta->add_option("--path", meta_args->path, "Directory to work in (emptied first, removed after)");
  meta->add_option("--count", meta_args->count, "Files per operation kind");
  meta->callback([=] {
    Status st = RunMetaBench(*meta_args);
    *exit_code = st.ok() ? 0 : ReportError(st);
  });
}

}  // namespace strata::cli
