// strata cluster status: the masters (leader, standbys, etcd health when they
// run on etcd), chunkservers, racks, disks, replication health,
// and the block layer (blockmanager, blockservers, volumes, segment owners)
// when the cluster has one.
#include <cstdlib>
#include <iostream>

#include "cli/admin_options.h"
#include "cli/commands.h"
#include "dfs/client/cluster_file.h"
#include "meta/etcd_health.h"
#include "rpc/leader_endpoints.h"

namespace strata::cli {
namespace {

uint64_t U64(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<uint64_t>() : 0;
}

// "chunks: 12 (11 sealed, 1 open), 40.0 MiB sealed; under-replicated 2
// (1 replica left: 1, 2 replicas left: 1), lost 0, awaiting deletion 0"
void PrintChunks(const nlohmann::json& c) {
  std::cout << "chunks: " << U64(c, "total") << " (" << U64(c, "sealed") << " sealed, " << U64(c, "open")
            << " open), " << HumanBytes(U64(c, "sealed_bytes")) << " sealed; under-replicated "
            << U64(c, "under_replicated");
  auto left = c.find("under_replicated_by_replicas_left");
  if (U64(c, "under_replicated") > 0 && left != c.end() && left->is_object()) {
    std::string sep = " (";
    for (const auto& [replicas, count] : left->items()) {
      if (!count.is_number() || count.get<uint64_t>() == 0) continue;
      std::cout << sep << replicas << (replicas == "1" ? " replica" : " replicas") << " left: " << count.get<uint64_t>();
      sep = ", ";
    }
    if (sep != " (") std::cout << ")";
  }
  std::cout << ", lost " << U64(c, "lost") << ", awaiting deletion " << U64(c, "gc_pending") << "\n";
}

// "recovery: 3 copying (12.0 MiB), 5 queued; 40 done (160.0 MiB), 0 failed;
// copy budget now 24.0 MiB/s of 100.0 MiB/s, 1 of 2 copies per server" (the
// budget shrinks while foreground latency suffers), "paused ..." and the alert.
void PrintRecovery(const nlohmann::json& r) {
  std::cout << "recovery: ";
  if (U64(r, "in_flight") == 0 && U64(r, "queued") == 0) {
    std::cout << "idle";
  } else {
    std::cout << U64(r, "in_flight") << " copying (" << HumanBytes(U64(r, "in_flight_bytes")) << "), "
              << U64(r, "queued") << " queued";
  }
  std::cout << "; " << U64(r, "done") << " done (" << HumanBytes(U64(r, "done_bytes")) << "), " << U64(r, "failed")
            << " failed; copy budget now " << HumanBytes(U64(r, "bytes_per_sec")) << "/s of "
            << HumanBytes(U64(r, "bytes_per_sec_max")) << "/s, " << U64(r, "copies_per_server") << " of "
            << U64(r, "copies_per_server_max") << " copies per server";
  if (r.value("paused", false)) std::cout << "; paused for " << U64(r, "paused_remaining_ms") / 1000 << " s more";
  std::cout << "\n";
  std::string alert = r.value("alert", std::string());
  if (!alert.empty()) std::cout << "ALERT recovery: " << alert << "\n";
}

// Masters on etcd: the status came from the leader; adds "standbys" (the
// other addresses the client knows) and "etcd_members" (each member's
// health) to its "ha" object.
void AddHaDetails(const std::string& masters, nlohmann::json* s) {
  if (!s->contains("ha") || !(*s)["ha"].is_object()) return;
  nlohmann::json& ha = (*s)["ha"];
  const std::string leader = ha.value("leader", ha.value("addr", std::string()));
  ha["standbys"] = nlohmann::json::array();
  for (const auto& addr : rpc::LeaderEndpoints::Split(masters)) {
    if (addr != leader) ha["standbys"].push_back(addr);
  }
  ha["etcd_members"] = nlohmann::json::array();
  for (const auto& url : rpc::LeaderEndpoints::Split(ha.value("etcd", std::string()))) {
    Status st = meta::EtcdMemberHealth(url, 1000);
    nlohmann::json m = {{"endpoint", url}, {"healthy", st.ok()}};
    if (!st.ok()) m["error"] = st.ToString();
    ha["etcd_members"].push_back(m);
  }
}

// "masters: leader A (term 3); standbys B, C" and "etcd: 3/3 members healthy".
void PrintHa(const nlohmann::json& ha) {
  std::cout << "masters: leader " << ha.value("leader", ha.value("addr", std::string("?"))) << " (term "
            << U64(ha, "term") << ")";
  std::string sep = "; standbys ";
  for (const auto& b : ha.value("standbys", nlohmann::json::array())) {
    std::cout << sep << b.get<std::string>();
    sep = ", ";
  }
  std::cout << "\n";
  const auto members = ha.value("etcd_members", nlohmann::json::array());
  size_t healthy = 0;
  for (const auto& m : members) healthy += m.value("healthy", false) ? 1 : 0;
  std::cout << "etcd: " << healthy << "/" << members.size() << " members healthy";
  for (const auto& m : members) {
    if (!m.value("healthy", false)) std::cout << "; " << m.value("error", std::string("?"));
  }
  std::cout << "\n";
}

void PrintStatus(const std::string& master, const nlohmann::json& s) {
  if (s.contains("ha") && s["ha"].is_object()) {
    PrintHa(s["ha"]);
    std::cout << "master: " << s["ha"].value("addr", master) << "  (up " << s.value("uptime_s", uint64_t{0})
              << " s)\n";
  } else {
    std::cout << "master: " << master << "  (up " << s.value("uptime_s", uint64_t{0}) << " s)\n";
  }
  if (s.contains("totals")) {
    const auto& t = s["totals"];
    std::cout << "capacity: " << HumanBytes(t.value("used_bytes", uint64_t{0})) << " used, "
              << HumanBytes(t.value("free_bytes", uint64_t{0})) << " free of "
              << HumanBytes(t.value("capacity_bytes", uint64_t{0})) << "; " << t.value("alive", 0) << "/"
              << t.value("chunkservers", 0) << " chunkservers alive, " << t.value("failed_disks", 0) << "/"
              << t.value("disks", 0) << " disks failed\n";
  }
  if (s.contains("racks")) {
    std::cout << "racks:";
    for (const auto& r : s["racks"]) {
      std::cout << "  " << r.value("name", std::string("?")) << " (" << r.value("alive", 0) << "/"
                << r.value("chunkservers", 0) << " alive)";
    }
    std::cout << "\n";
  }
  if (s.contains("chunkservers")) {
    std::cout << "chunkservers:\n";
    for (const auto& cs : s["chunkservers"]) {
      std::cout << "  " << cs.value("id", std::string("?")) << "  " << cs.value("addr", std::string("?")) << "  rack "
                << cs.value("rack", std::string("?")) << "  " << (cs.value("alive", false) ? "alive" : "DEAD");
      std::string health = cs.value("health", std::string("normal"));
      if (health != "normal") std::cout << "  " << health << ": " << cs.value("health_reason", std::string(""));
      std::cout << "\n";
      if (!cs.contains("disks")) continue;
      for (const auto& d : cs["disks"]) {
        std::cout << "    disk " << d.value("index", 0) << "  " << d.value("path", std::string("")) << "  used "
                  << HumanBytes(d.value("used_bytes", uint64_t{0})) << " / "
                  << HumanBytes(d.value("capacity_bytes", uint64_t{0})) << "  chunks " << d.value("chunks", 0)
                  << "  write p50/p99 " << d.value("write_p50_us", uint64_t{0}) << "/"
                  << d.value("write_p99_us", uint64_t{0}) << " us";
        if (d.value("failed", false)) std::cout << "  FAILED: " << d.value("failure", std::string(""));
        std::string disk_health = d.value("health", std::string("normal"));
        if (disk_health != "normal") std::cout << "  " << disk_health << ": " << d.value("slow_reason", std::string(""));
        std::cout << "\n";
      }
    }
  }
  if (s.contains("alerts") && s["alerts"].is_array()) {
    for (const auto& a : s["alerts"]) {
      std::cout << "ALERT " << a.value("kind", std::string("")) << ": " << a.value("message", std::string("")) << "\n";
    }
  }
  if (s.contains("chunks") && s["chunks"].is_object()) PrintChunks(s["chunks"]);
  if (s.contains("recovery") && s["recovery"].is_object()) PrintRecovery(s["recovery"]);
  if (s.contains("files") || s.contains("directories")) {
    std::cout << "namespace: " << s.value("files", uint64_t{0}) << " files, " << s.value("directories", uint64_t{0})
              << " directories\n";
  }
}

// "blockmanager: ADDR (up 12 s); 3/3 blockservers alive; 2 volumes, 2
// segments (0 unassigned, 0 restricted), 1 moved", then one line per
// blockserver, volume and segment.
void PrintBlockStatus(const nlohmann::json& s) {
  const nlohmann::json& t = s.contains("totals") ? s["totals"] : nlohmann::json::object();
  std::cout << "blockmanager: " << s.value("blockmanager", std::string("?")) << "  (up " << U64(s, "uptime_s")
            << " s); " << U64(t, "alive") << "/" << U64(t, "blockservers") << " blockservers alive; "
            << U64(t, "volumes") << (U64(t, "volumes") == 1 ? " volume, " : " volumes, ") << U64(t, "segments")
            << (U64(t, "segments") == 1 ? " segment (" : " segments (") << U64(t, "segments_unassigned")
            << " unassigned, " << U64(t, "segments_restricted") << " restricted), " << U64(t, "segment_moves")
            << " moved\n";
  if (s.contains("blockservers") && !s["blockservers"].empty()) {
    std::cout << "blockservers:\n";
    for (const auto& b : s["blockservers"]) {
      std::cout << "  " << b.value("id", std::string("?")) << "  " << b.value("addr", std::string("?")) << "  "
                << (b.value("alive", false) ? "alive" : b.value("state", std::string("DEAD"))) << "  segments "
                << U64(b, "segments") << "\n";
    }
  }
  if (s.contains("volumes") && !s["volumes"].empty()) {
    std::cout << "volumes:\n";
    for (const auto& v : s["volumes"]) {
      std::cout << "  " << v.value("name", std::string("?")) << "  " << HumanBytes(U64(v, "size_bytes")) << "  "
                << v.value("durability", std::string("?")) << "  " << U64(v, "segment_count") << " segments  live "
                << HumanBytes(U64(v, "live_bytes")) << "  stored " << HumanBytes(U64(v, "stored_bytes")) << "\n";
    }
  }
  if (s.contains("segments") && !s["segments"].empty()) {
    std::cout << "segments:\n";
    for (const auto& g : s["segments"]) {
      std::string owner = g.value("owner", std::string());
      std::cout << "  " << g.value("volume", std::string("?")) << "/" << U64(g, "index") << "  "
                << (owner.empty() ? std::string("UNASSIGNED") : "owner " + owner + " " +
                                                                    g.value("owner_addr", std::string()))
                << "  epoch " << U64(g, "epoch") << "  " << g.value("state", std::string()) << "  tokens "
                << U64(g, "tokens") << (g.value("restricted", false) ? "  RESTRICTED" : "") << "\n";
    }
    if (U64(t, "segments") > s["segments"].size()) {
      std::cout << "  (" << U64(t, "segments") - s["segments"].size() << " more segments not listed)\n";
    }
  }
  if (s.contains("pending_deletions") && !s["pending_deletions"].empty()) {
    std::cout << "volumes awaiting space reclaim: " << s["pending_deletions"].size() << "\n";
  }
}

// The blockmanager's status, when the cluster has a block layer: found
// through --blockmanager, STRATA_BLOCKMANAGER or cluster.json (the latter
// only when the master was found there too, so that --master of another
// cluster is not mixed with ./var's blockmanager). A null result: none
// configured; an error: configured but not answering.
Result<nlohmann::json> BlockStatus(const AdminOptions& opts) {
  const char* env = std::getenv("STRATA_BLOCKMANAGER");
  bool told = !opts.blockmanager.empty() || (env && *env);
  if (!told && !opts.master.empty()) return nlohmann::json();
  if (!told && std::getenv("STRATA_MASTER") && *std::getenv("STRATA_MASTER")) return nlohmann::json();
  auto addr = dfs::LocateBlockManager(opts.blockmanager, opts.dir);
  if (!addr.ok()) {
    if (told) return addr.status();
    return nlohmann::json();  // no cluster.json entry: a cluster without block storage
  }
  auto client = ConnectBlockManager(opts);
  if (!client.ok()) return client.status();
  ASSIGN_OR_RETURN(std::string json, (*client)->StatusJson());
  auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded()) return Status::Internal("blockmanager " + *addr + " sent a status that is not JSON");
  return doc;
}

}  // namespace

void RegisterClusterCommand(CLI::App& app, int* exit_code) {
  auto* cluster = app.add_subcommand("cluster", "Cluster administration");
  cluster->require_subcommand(1);
  auto opts = std::make_shared<AdminOptions>();
  auto* status = cluster->add_subcommand("status", "Chunkservers, racks, disks, under-replicated chunks, recovery");
  AddAdminOptions(status, opts.get());
  status->add_option("--blockmanager", opts->blockmanager, "Blockmanager HOST:PORT (default: from cluster.json)");
  status->callback([=] {
    auto client = ConnectDfs(*opts);
    if (!client.ok()) {
      *exit_code = ReportError(client.status(), opts->json);
      return;
    }
    auto json = (*client)->ClusterStatusJson();
    if (!json.ok()) {
      *exit_code = ReportError(json.status(), opts->json);
      return;
    }
    auto doc = nlohmann::json::parse(*json, nullptr, false);
    if (!doc.is_discarded()) AddHaDetails((*client)->options().master, &doc);
    auto block = BlockStatus(*opts);
    if (opts->json || doc.is_discarded()) {
      if (!doc.is_discarded()) {
        if (!block.ok()) {
          doc["block"] = {{"error", block.status().ToString()}};
        } else if (!block->is_null()) {
          doc["block"] = *block;
        }
      }
      std::cout << (doc.is_discarded() ? *json : doc.dump(2)) << "\n";
    } else {
      PrintStatus((*client)->options().master, doc);
      if (!block.ok()) {
        std::cout << "blockmanager: UNREACHABLE: " << block.status().ToString() << "\n";
      } else if (!block->is_null()) {
        PrintBlockStatus(*block);
      }
    }
    // An unreachable blockmanager is a cluster problem the exit code shows.
    *exit_code = block.ok() ? 0 : 1;
  });
  RegisterClusterDiskCommand(cluster, exit_code);
}

}  // namespace strata::cli
