// System tests of the dfs on unreliable hardware: a real cluster from
// `strata up`, with disks frozen through `strata debug disk-fault`, servers
// stopped with SIGSTOP or killed with SIGKILL, and bytes corrupted on disk.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "common/subprocess.h"
#include "testing/cluster.h"
#include "testing/isolated_network.h"

namespace strata::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class DfsFaultSystemTest : public ::testing::Test {
 protected:
  std::string Tmp(const std::string& name) { return scratch_.Path(name); }
  ScratchDir scratch_{"strata_faulttest"};
};

// `memory` durability: acknowledged appends survive the SIGKILL of a
// chunkserver that holds the chunk being written.
TEST_F(DfsFaultSystemTest, MemoryModeAppendsSurviveAChunkserverKill) {
  TestCluster c;
  ASSERT_FALSE(c.info().is_null());
  std::string src = Tmp("src"), dst = Tmp("dst");
  WriteRandomFile(src, 32ull << 20, 11);
  pid_t put = StartStrata({"fs", "put", "--durability", "memory", "--append-size", "64K", src, "/mem",
                           "--master", c.master(), "--secret-file", c.secret_file()},
                          Tmp("put.log"));
  std::string victim = c.KillHolderOfNewestChunk("/mem", 1);
  ASSERT_FALSE(victim.empty());
  ASSERT_EQ(WaitExit(put), 0) << "put failed after a chunkserver was killed";
  auto st = c.StatJson("/mem");
  EXPECT_EQ(st["durability"], "memory") << st.dump(1);
  auto get = c.Cli({"fs", "get", "/mem", dst});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_TRUE(FilesEqual(src, dst));
  EXPECT_TRUE(WaitFor([&] {
    return ChunksFullyReplicated(c.StatJson("/mem"), 3,
                                 [&](const nlohmann::json& r) { return r["server_id"] == victim; });
  }, 120s)) << c.StatJson("/mem").dump(1);
}

// A disk that hangs under `memory` durability: its acknowledged data cannot
// be flushed within memory_flush_delay_ms_max, which the chunkserver reports
// at once; the disk is failed, the write goes on elsewhere, and the chunks
// are re-replicated from the other copies.
TEST_F(DfsFaultSystemTest, FrozenDiskMissesTheFlushDeadlineAndIsReplaced) {
  TestCluster c(TestClusterConfig{.chunkserver_yaml = "  memory_flush_delay_ms_max: 1000\n"});
  ASSERT_FALSE(c.info().is_null());
  std::string src = Tmp("src"), dst = Tmp("dst"), fifo = Tmp("fifo");
  WriteRandomFile(src, 10ull << 20, 12);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  pid_t put = StartStrata({"fs", "put", "--durability", "memory", "--append-size", "64K", fifo, "/frozen",
                           "--master", c.master(), "--secret-file", c.secret_file()},
                          Tmp("put.log"));
  std::ifstream in(src, std::ios::binary);
  std::ofstream pipe(fifo, std::ios::binary);
  auto feed = [&](size_t bytes) {
    std::string buf(bytes, '\0');
    in.read(buf.data(), static_cast<std::streamsize>(bytes));
    pipe.write(buf.data(), in.gcount());
    pipe.flush();
  };
  feed(1 << 20);
  std::string server;
  int disk = -1;
  ASSERT_TRUE(WaitFor([&] {
    auto st = c.StatJson(c.WrittenPath("/frozen"));
    if (st.is_null() || st.is_discarded() || st["chunk_list"].empty()) return false;
    server = st["chunk_list"].back()["replicas"][0]["server_id"].get<std::string>();
    disk = st["chunk_list"].back()["replicas"][0]["disk"].get<int>();
    return true;
  }, 30s));
  auto freeze = c.Cli({"debug", "disk-fault", "--server", server, "--disk", std::to_string(disk), "--freeze"});
  ASSERT_EQ(freeze.exit_code, 0) << freeze.err;
  feed(1 << 20);  // acknowledged from memory; the hung disk cannot flush it
  EXPECT_TRUE(WaitFor([&] {
    auto d = c.DiskStatus(server, disk);
    return !d.is_null() && d["failed"] == true &&
           d["failure"].get<std::string>().find("flush deadline") != std::string::npos;
  }, 30s)) << c.DiskStatus(server, disk).dump(1);
  feed(8 << 20);
  pipe.close();
  ASSERT_EQ(WaitExit(put), 0) << "put failed when a disk froze";
  auto get = c.Cli({"fs", "get", "/frozen", dst});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_TRUE(FilesEqual(src, dst));
  // Every chunk back to 3 replicas on 3 racks, none on the frozen disk.
  EXPECT_TRUE(WaitFor([&] {
    return ChunksFullyReplicated(c.StatJson("/frozen"), 3, [&](const nlohmann::json& r) {
      return r["server_id"] == server && r["disk"] == disk;
    });
  }, 120s)) << c.StatJson("/frozen").dump(1);
  EXPECT_EQ(c.Cli({"debug", "disk-fault", "--server", server, "--disk", std::to_string(disk), "--off"}).exit_code, 0);
}

// A sealed replica corrupted on disk and never read: the scrubber finds it
// and the master replaces it.
TEST_F(DfsFaultSystemTest, ScrubberFindsCorruptionNobodyReads) {
  TestCluster c(TestClusterConfig{.chunkserver_yaml = "  scrub_bytes_per_sec_max: 64M\n"
                                                      "  scrub_pass_pause_ms: 200\n"});
  ASSERT_FALSE(c.info().is_null());
  std::string src = Tmp("src"), dst = Tmp("dst");
  WriteRandomFile(src, 6ull << 20, 13);
  ASSERT_EQ(c.Cli({"fs", "put", src, "/scrubbed"}).exit_code, 0);
  auto st = c.StatJson("/scrubbed");
  ASSERT_FALSE(st.is_null());
  const auto& chunk = st["chunk_list"][0];
  ASSERT_TRUE(chunk["sealed"].get<bool>());
  uint64_t chunk_id = chunk["chunk_id"].get<uint64_t>();
  std::string path = c.ReplicaChunkPath(chunk["replicas"][2], chunk_id);
  // Chunk byte k is byte 4096 + 4 MiB + k of the .chunk file (docs/chunk_format.md).
  const std::streamoff kFlipAt = 4096 + (4 << 20) + 123456;
  char original = 0;
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good()) << path;
    f.seekg(kFlipAt);
    f.read(&original, 1);
    char flipped = static_cast<char>(original ^ 0x11);
    f.seekp(kFlipAt);
    f.write(&flipped, 1);
  }
  auto corrupted_copy_gone = [&] {
    std::ifstream f(path, std::ios::binary);
    if (!f) return true;
    f.seekg(kFlipAt);
    char now = 0;
    f.read(&now, 1);
    return f.gcount() == 1 && now == original;
  };
  EXPECT_TRUE(WaitFor([&] {
    return corrupted_copy_gone() && ChunksFullyReplicated(c.StatJson("/scrubbed"), 3);
  }, 90s)) << c.StatJson("/scrubbed").dump(1);
  auto get = c.Cli({"fs", "get", "/scrubbed", dst});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_TRUE(FilesEqual(src, dst));
  EXPECT_EQ(get.err.find("corrupt"), std::string::npos) << "the reader met the corruption first: " << get.err;
}

// Half the chunkservers freeze at once (SIGSTOP): that looks like a network
// or power event, not six failed disks, so recovery pauses instead of
// starting a copy storm; when they come back (SIGCONT) nothing is lost.
TEST_F(DfsFaultSystemTest, HalfTheServersStoppedPausesRecoveryThenTheyRejoin) {
  TestCluster c;
  ASSERT_FALSE(c.info().is_null());
  std::string src = Tmp("src"), dst = Tmp("dst");
  WriteRandomFile(src, 12ull << 20, 14);
  ASSERT_EQ(c.Cli({"fs", "put", src, "/storm"}).exit_code, 0);
  ASSERT_TRUE(ChunksFullyReplicated(c.StatJson("/storm"), 3));
  for (int i = 0; i < 3; ++i) c.Kill(c.chunkserver_pid(i), SIGSTOP);
  nlohmann::json recovery;
  ASSERT_TRUE(WaitFor([&] {
    auto s = c.ClusterStatusJson();
    if (s.is_null() || s.is_discarded()) return false;
    recovery = s["recovery"];
    return s["totals"]["alive"] == 3 && recovery["paused"] == true;
  }, 30s)) << recovery.dump(1);
  EXPECT_FALSE(recovery["alert"].get<std::string>().empty());
  // No copy starts during the grace period (polled over a few heartbeats).
  // One started after the first death, before the storm was declared, may
  // still be in flight and end (done or failed): the sum stays.
  auto started = [](const nlohmann::json& r) {
    return r["done"].get<uint64_t>() + r["failed"].get<uint64_t>() + r["in_flight"].get<uint64_t>();
  };
  const uint64_t started_before = started(recovery);
  for (int i = 0; i < 10; ++i) {
    auto s = c.ClusterStatusJson();
    ASSERT_FALSE(s.is_null());
    EXPECT_EQ(started(s["recovery"]), started_before) << s["recovery"].dump(1);
    EXPECT_TRUE(s["recovery"]["paused"].get<bool>());
    std::this_thread::sleep_for(200ms);  // the property is the absence of copies over time
  }
  for (int i = 0; i < 3; ++i) c.Kill(c.chunkserver_pid(i), SIGCONT);
  // Back long before the 10-minute grace ends: the pause ends with their return.
  EXPECT_TRUE(WaitFor([&] {
    auto s = c.ClusterStatusJson();
    return !s.is_null() && !s.is_discarded() && s["recovery"]["paused"] == false;
  }, 30s)) << c.ClusterStatusJson()["recovery"].dump(1);
  EXPECT_TRUE(WaitFor([&] {
    auto s = c.ClusterStatusJson();
    return !s.is_null() && !s.is_discarded() && s["totals"]["alive"] == 6 &&
           s["chunks"]["under_replicated"] == 0 && ChunksFullyReplicated(c.StatJson("/storm"), 3);
  }, 120s)) << c.ClusterStatusJson().dump(1) << c.StatJson("/storm").dump(1);
  auto get = c.Cli({"fs", "get", "/storm", dst});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_TRUE(FilesEqual(src, dst));
}

// Config for the fail-slow tests: every disk probed often, so each heartbeat
// carries a latency sample from every disk.
TestClusterConfig SlowDiskConfig() {
  return TestClusterConfig{.chunkserver_yaml = "  disk_probe_interval_ms: 100\n"};
}

// Runs `strata bench append` (64 KiB sync appends) and returns its JSON.
nlohmann::json AppendLoad(const TestCluster& c, const std::string& path, int count) {
  auto r = c.Cli({"bench", "append", "--path", path, "--size", "64K", "--count", std::to_string(count)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_TRUE(j.is_object()) << "bench append printed: " << r.out << r.err;
  return j.is_object() ? j : nlohmann::json::object({{"p50_us", 0.0}, {"p99_us", 0.0}});
}

// Every disk and chunkserver the master judges, with its health.
std::vector<std::string> Degraded(const nlohmann::json& status) {
  std::vector<std::string> out;
  for (const auto& cs : status["chunkservers"]) {
    if (cs.value("health", std::string("normal")) != "normal") out.push_back(cs["id"].get<std::string>());
    for (const auto& d : cs["disks"]) {
      if (d.value("health", std::string("normal")) != "normal") {
        out.push_back(cs["id"].get<std::string>() + "/" + std::to_string(d["index"].get<int>()) + ":" +
                      d["health"].get<std::string>());
      }
    }
  }
  return out;
}

// 40 ms more on every sync of one disk of six chunkservers under a write
// load: the master finds it, makes it read-only, gives its chunks another
// replica and takes it offline; the writer barely notices.
TEST_F(DfsFaultSystemTest, SlowDiskIsFoundIsolatedAndTakenOffline) {
  TestCluster c(SlowDiskConfig());
  ASSERT_FALSE(c.info().is_null());
  std::string src = Tmp("src");
  WriteRandomFile(src, 12ull << 20, 15);
  ASSERT_EQ(c.Cli({"fs", "put", src, "/data"}).exit_code, 0);
  auto healthy = AppendLoad(c, "/load/healthy", 300);
  auto replica = c.StatJson("/data")["chunk_list"][0]["replicas"][0];
  std::string server = replica["server_id"].get<std::string>();
  int disk = replica["disk"].get<int>();
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(c.Cli({"debug", "disk-fault", "--server", server, "--disk", std::to_string(disk), "--latency-ms", "40"})
                .exit_code,
            0);
  auto during = AppendLoad(c, "/load/slow", 300);
  std::string health;
  std::set<std::string> seen;
  EXPECT_TRUE(WaitFor([&] {
    auto d = c.DiskStatus(server, disk);
    if (d.is_null()) return false;
    health = d.value("health", std::string());
    seen.insert(health);
    return health == "offline";
  }, 60s)) << "last health " << health << " " << c.DiskStatus(server, disk).dump(1);
  auto found_after = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  EXPECT_TRUE(seen.count("read_only") || seen.count("offline"));
  // Every chunk of the file is back to 3 replicas, none on the slow disk.
  EXPECT_TRUE(WaitFor([&] {
    return ChunksFullyReplicated(c.StatJson("/data"), 3, [&](const nlohmann::json& r) {
      return r["server_id"] == server && r["disk"] == disk;
    });
  }, 60s)) << c.StatJson("/data").dump(1);
  std::printf("slow disk %s/%d offline after %lld ms; 64 KiB append p50/p99 healthy %.0f/%.0f us, during %.0f/%.0f us\n",
              server.c_str(), disk, static_cast<long long>(found_after.count()), healthy["p50_us"].get<double>(),
              healthy["p99_us"].get<double>(), during["p50_us"].get<double>(), during["p99_us"].get<double>());
  // Loosely: the writer never waits for the slow replica (acknowledged at 2 of 3).
  EXPECT_LT(during["p99_us"].get<double>(), std::max(4 * healthy["p99_us"].get<double>(), 200'000.0));
  EXPECT_EQ(c.Cli({"debug", "disk-fault", "--server", server, "--disk", std::to_string(disk), "--off"}).exit_code, 0);
}

// The same load on a healthy cluster flags nothing.
TEST_F(DfsFaultSystemTest, BusyHealthyClusterFlagsNothing) {
  TestCluster c(SlowDiskConfig());
  ASSERT_FALSE(c.info().is_null());
  for (int round = 0; round < 3; ++round) {
    AppendLoad(c, "/load/busy" + std::to_string(round), 300);
    auto status = c.ClusterStatusJson();
    ASSERT_FALSE(status.is_null());
    EXPECT_EQ(Degraded(status), std::vector<std::string>{}) << status.dump(1);
    EXPECT_TRUE(status["alerts"].empty()) << status["alerts"].dump(1);
  }
}

// Half the disks slow at once is not something to "fix" by isolating them:
// at most the bound (max(1, 1 % of disks)) is taken out of service, and an
// alert is raised instead.
TEST_F(DfsFaultSystemTest, HalfTheDisksSlowIsBoundedAndAlerts) {
  TestCluster c(SlowDiskConfig());
  ASSERT_FALSE(c.info().is_null());
  for (int i = 0; i < 3; ++i) {
    for (int d = 0; d < 2; ++d) {
      ASSERT_EQ(c.Cli({"debug", "disk-fault", "--server", c.chunkserver_id(i), "--disk", std::to_string(d),
                       "--latency-ms", "40"})
                    .exit_code,
                0);
    }
  }
  nlohmann::json status;
  EXPECT_TRUE(WaitFor([&] {
    status = c.ClusterStatusJson();
    return !status.is_null() && !status["alerts"].empty();
  }, 60s)) << status.dump(1);
  // Over a few more heartbeats, never more than the bound out of service:
  // max(1, 1 % of 12) disks, where one whole chunkserver (its 2 disks)
  // counts as the one unit that may always go.
  for (int i = 0; i < 10; ++i) {
    status = c.ClusterStatusJson();
    ASSERT_FALSE(status.is_null());
    auto sf = status["soft_faults"];
    EXPECT_EQ(sf["disks_out_of_service_max"].get<int>(), 1) << sf.dump(1);
    EXPECT_LE(sf["disks_out_of_service"].get<int>(), 2) << sf.dump(1);
    EXPECT_LE(sf["slow_chunkservers"].size(), 1u) << sf.dump(1);
    std::this_thread::sleep_for(300ms);  // one heartbeat
  }
  for (int i = 0; i < 3; ++i) {
    for (int d = 0; d < 2; ++d) {
      c.Cli({"debug", "disk-fault", "--server", c.chunkserver_id(i), "--disk", std::to_string(d), "--off"});
    }
  }
}

// A chunkserver cut off the network (its link taken down, in its own network
// namespace): the master declares it dead and re-replicates its chunks; when
// the link comes back it rejoins and nothing is lost. Skipped where network
// namespaces cannot be created.
TEST_F(DfsFaultSystemTest, ChunkserverCutOffTheNetworkIsReplacedAndRejoins) {
  auto net = IsolatedNetwork::Create(std::to_string(::getpid() % 100000));
  if (!net.ok()) GTEST_SKIP() << "skipped: " << net.status().message();
  TestCluster c(TestClusterConfig{.extra_yaml = "host: " + (*net)->host_addr() + "\n"});
  ASSERT_FALSE(c.info().is_null());
  // Two disks like its peers, so that placement treats it as their equal.
  std::string disk0 = c.dir() + "/cs7/disk0", disk1 = c.dir() + "/cs7/disk1";
  fs::create_directories(disk0);
  fs::create_directories(disk1);
  auto cs7 = SpawnProcess((*net)->Wrap({StrataBinary(), "chunkserver", "--id", "cs7", "--master", c.master(),
                                        "--secret-file", c.secret_file(), "--host",
                                        (*net)->inner_addr(), "--rack", "rack1", "--disk", disk0, "--disk", disk1, "--config",
                                        c.dir() + "/chunkserver.yaml"}),
                          SpawnOptions{.log_path = c.dir() + "/logs/cs7.log"});
  ASSERT_TRUE(cs7.ok()) << cs7.status().ToString();
  auto alive = [&](int want) {
    auto s = c.ClusterStatusJson();
    return !s.is_null() && !s.is_discarded() && s["totals"]["alive"] == want;
  };
  ASSERT_TRUE(WaitFor([&] { return alive(7); }, 30s)) << c.ClusterStatusJson().dump(1);
  // Files until the isolated server holds a replica.
  std::vector<std::pair<std::string, std::string>> files;  // dfs path, local source
  auto on_cs7 = [](const nlohmann::json& r) { return r["server_id"] == "cs7"; };
  auto holds_cs7 = [&](const std::string& path) {
    const nlohmann::json stat = c.StatJson(path);
    if (stat.is_null() || stat.is_discarded()) return false;
    for (const auto& ch : stat["chunk_list"]) {
      for (const auto& r : ch["replicas"]) {
        if (on_cs7(r)) return true;
      }
    }
    return false;
  };
  bool placed = false;
  for (int i = 0; i < 6 && !placed; ++i) {
    std::string src = Tmp("src" + std::to_string(i)), path = "/cut" + std::to_string(i);
    WriteRandomFile(src, 12ull << 20, 20 + i);
    ASSERT_EQ(c.Cli({"fs", "put", src, path}).exit_code, 0);
    files.emplace_back(path, src);
    placed = holds_cs7(path);
  }
  ASSERT_TRUE(placed) << "no replica landed on cs7: " << c.ClusterStatusJson()["chunkservers"].dump(1);
  auto all_readable = [&] {
    for (const auto& [path, src] : files) {
      std::string dst = Tmp("dst");
      auto get = c.Cli({"fs", "get", path, dst});
      if (get.exit_code != 0 || !FilesEqual(src, dst)) return false;
    }
    return true;
  };

  ASSERT_TRUE((*net)->Cut().ok());
  EXPECT_TRUE(WaitFor([&] { return alive(6); }, 30s));
  EXPECT_TRUE(WaitFor([&] {
    for (const auto& [path, src] : files) {
      if (!ChunksFullyReplicated(c.StatJson(path), 3, on_cs7)) return false;
    }
    return true;
  }, 120s)) << c.ClusterStatusJson()["chunks"].dump(1);
  EXPECT_TRUE(all_readable());

  ASSERT_TRUE((*net)->Heal().ok());
  EXPECT_TRUE(WaitFor([&] { return alive(7); }, 30s)) << c.ClusterStatusJson().dump(1);
  EXPECT_TRUE(WaitFor([&] {
    auto s = c.ClusterStatusJson();
    if (s.is_null() || s.is_discarded() || s["chunks"]["under_replicated"] != 0) return false;
    for (const auto& [path, src] : files) {
      if (!ChunksFullyReplicated(c.StatJson(path), 3)) return false;
    }
    return true;
  }, 60s)) << c.ClusterStatusJson()["chunks"].dump(1);
  EXPECT_TRUE(all_readable());
  (void)StopProcess(*cs7, 5000);
}

}  // namespace
}  // namespace strata::testing
