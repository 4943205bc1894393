// System tests of virtual disks: a real cluster from `strata up` (master,
// chunkservers, blockmanager, blockservers, NBD gateway), driven by the real
// NBD clients (nbdinfo, nbdcopy, qemu-img, qemu-io, fio's nbd engine), with
// processes killed by SIGKILL or frozen by SIGSTOP.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "common/subprocess.h"
#include "testing/cluster.h"

namespace strata::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
constexpr uint64_t kMiB = 1ull << 20;

// Small segments so that a test volume spreads over every blockserver, and
// small data files so that rolls, checkpoints and GC happen in seconds.
TestClusterConfig BlockConfig() {
  TestClusterConfig c;
  c.block_yaml = "  enabled: true\n  blockservers: 3\n";
  c.blockmanager_yaml = "  segment_size: 4M\n  stripe_unit: 64K\n";
  c.blockserver_yaml = "  data_file_bytes_max: 1M\n  checkpoint_bytes_min: 2M\n";
  return c;
}

class BlockSystemTest : public ::testing::Test {
 protected:
  std::string Tmp(const std::string& name) { return scratch_.Path(name); }
  ScratchDir scratch_{"strata_blocktest"};

  static std::string Manager(const TestCluster& c) { return c.info()["blockmanager"]["addr"].get<std::string>(); }
  static std::string Uri(const TestCluster& c, const std::string& volume) {
    return "nbd://" + c.info()["nbd"]["addr"].get<std::string>() + "/" + volume;
  }
  static CommandResult Volume(const TestCluster& c, std::vector<std::string> args) {
    args.insert(args.begin(), "volume");
    args.push_back("--blockmanager");
    args.push_back(Manager(c));
    args.push_back("--secret-file");
    args.push_back(c.secret_file());
    return RunStrata(args);
  }
  static nlohmann::json VolumeInfo(const TestCluster& c, const std::string& name) {
    auto r = Volume(c, {"info", name, "--json"});
    if (r.exit_code != 0) return nullptr;
    return nlohmann::json::parse(r.out, nullptr, false);
  }
  static void Create(const TestCluster& c, const std::string& name, const std::string& size,
                     const std::string& durability = "sync") {
    auto r = Volume(c, {"create", name, size, "--durability", durability});
    ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  }
  // The blockserver index in cluster.json owning segment `index` of `volume`.
  static int OwnerIndex(const TestCluster& c, const std::string& volume, uint32_t index) {
    auto info = VolumeInfo(c, volume);
    if (info.is_null() || info.is_discarded()) return -1;
    for (const auto& s : info["segments"]) {
      if (s["index"] != index) continue;
      for (size_t i = 0; i < c.info()["blockservers"].size(); ++i) {
        if (c.info()["blockservers"][i]["id"] == s["owner_id"]) return static_cast<int>(i);
      }
    }
    return -1;
  }
  static pid_t BlockServerPid(const TestCluster& c, int i) {
    return c.info()["blockservers"][i]["pid"].get<pid_t>();
  }
  // A counter from a role's /metrics.
  static double Metric(const std::string& http, const std::string& name) {
    auto r = RunCommand({"curl", "-s", "--max-time", "2", "http://" + http + "/metrics"});
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
    }
    return -1;
  }
  static CommandResult QemuIo(const std::string& uri, const std::vector<std::string>& commands) {
    std::vector<std::string> argv = {"qemu-io", "-f", "raw"};
    for (const auto& c : commands) {
      argv.push_back("-c");
      argv.push_back(c);
    }
    argv.push_back(uri);
    return RunCommand(argv);
  }
  static bool QemuIoOk(const CommandResult& r) {
    return r.exit_code == 0 && r.out.find("failed") == std::string::npos &&
           r.err.find("failed") == std::string::npos && r.out.find("error") == std::string::npos;
  }
  static CommandResult Fio(const std::string& uri, std::vector<std::string> extra) {
    std::vector<std::string> argv = {"fio", "--name=fiojob", "--ioengine=nbd", "--uri=" + uri, "--bs=4k",
                                     "--verify=crc32c", "--verify_fatal=1", "--do_verify=1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv);
  }
};

TEST_F(BlockSystemTest, RealClientsSeeAThinVolumeAndCopyDataInAndOutIdentically) {
  TestCluster c(BlockConfig());
  ASSERT_FALSE(c.info().is_null());
  ASSERT_TRUE(c.info().contains("blockmanager"));
  ASSERT_EQ(c.info()["blockservers"].size(), 3u);
  Create(c, "vm1", "64M");

  auto info = RunCommand({"nbdinfo", "--json", Uri(c, "vm1")});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  auto j = nlohmann::json::parse(info.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << info.out;
  const auto& e = j["exports"][0];
  EXPECT_EQ(e["export-size"].get<uint64_t>(), 64 * kMiB);
  EXPECT_TRUE(e["can_flush"].get<bool>());
  EXPECT_TRUE(e["can_fua"].get<bool>());
  EXPECT_TRUE(e["can_trim"].get<bool>());
  EXPECT_TRUE(e["can_zero"].get<bool>());
  EXPECT_TRUE(e["can_multi_conn"].get<bool>());
  EXPECT_FALSE(e["is_read_only"].get<bool>());
  EXPECT_EQ(e["block_size_minimum"].get<uint64_t>(), 4096u);

  // A fresh thin volume is one unallocated extent.
  auto map = RunCommand({"nbdinfo", "--map", Uri(c, "vm1")});
  ASSERT_EQ(map.exit_code, 0) << map.err;
  EXPECT_NE(map.out.find("hole,zero"), std::string::npos) << map.out;
  EXPECT_EQ(map.out.find("data"), std::string::npos) << map.out;

  // 64 MiB of random data in and out with nbdcopy (several connections,
  // many requests in flight).
  std::string src = Tmp("src.img"), dst = Tmp("dst.img");
  WriteRandomFile(src, 64 * kMiB, 11);
  auto in = RunCommand({"nbdcopy", src, Uri(c, "vm1")});
  ASSERT_EQ(in.exit_code, 0) << in.err;
  auto out = RunCommand({"nbdcopy", Uri(c, "vm1"), dst});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_TRUE(FilesEqual(src, dst));
  map = RunCommand({"nbdinfo", "--map", Uri(c, "vm1")});
  EXPECT_NE(map.out.find("data"), std::string::npos) << map.out;

  // qemu-img into a second volume and back.
  Create(c, "vm2", "64M");
  std::string img = Tmp("disk.img"), back = Tmp("back.img");
  WriteRandomFile(img, 24 * kMiB, 12);
  ASSERT_EQ(RunCommand({"truncate", "-s", "64M", img}).exit_code, 0);
  auto conv = RunCommand({"qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", img, Uri(c, "vm2")});
  ASSERT_EQ(conv.exit_code, 0) << conv.err;
  auto cmp = RunCommand({"qemu-img", "compare", "-f", "raw", "-F", "raw", img, Uri(c, "vm2")});
  EXPECT_EQ(cmp.exit_code, 0) << cmp.out << cmp.err;
  auto conv_back = RunCommand({"qemu-img", "convert", "-f", "raw", "-O", "raw", Uri(c, "vm2"), back});
  ASSERT_EQ(conv_back.exit_code, 0) << conv_back.err;
  EXPECT_TRUE(FilesEqual(img, back));
  // qemu-img skipped the zeros at the end: the tail of vm2 is unallocated.
  map = RunCommand({"nbdinfo", "--map", Uri(c, "vm2")});
  EXPECT_NE(map.out.find("hole,zero"), std::string::npos) << map.out;

  // The unix socket serves the same volume.
  if (c.info()["nbd"].contains("socket")) {
    auto unix_info = RunCommand(
        {"nbdinfo", "--size", "nbd+unix:///vm1?socket=" + c.info()["nbd"]["socket"].get<std::string>()});
    EXPECT_EQ(unix_info.exit_code, 0) << unix_info.err;
    EXPECT_EQ(unix_info.out, "67108864\n");
  }
  // An unknown volume is a clear error.
  auto unknown = RunCommand({"nbdinfo", Uri(c, "nosuch")});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE((unknown.err + unknown.out).find("nosuch"), std::string::npos) << unknown.err;
  // The gateway counted what went through it.
  std::string gateway = c.info()["nbd"]["http"].get<std::string>();
  EXPECT_GE(Metric(gateway, "strata_nbd_request_bytes_total{op=\"write\"}"), 64.0 * kMiB + 24 * kMiB);
  EXPECT_GE(Metric(gateway, "strata_nbd_request_bytes_total{op=\"read\"}"), 64.0 * kMiB + 24 * kMiB);
  EXPECT_GT(Metric(gateway, "strata_nbd_requests_total{op=\"block_status\"}"), 0);
  EXPECT_EQ(Metric(gateway, "strata_nbd_request_errors_total{op=\"read\"}"), 0);
  EXPECT_TRUE(WaitFor([&] { return Metric(gateway, "strata_nbd_volumes_open") == 0; }, 10s));
}

TEST_F(BlockSystemTest, FioVerifiesRandomWritesOnOneAndOnFourConnections) {
  TestCluster c(BlockConfig());
  ASSERT_FALSE(c.info().is_null());
  Create(c, "vm1", "64M");
  auto one = Fio(Uri(c, "vm1"), {"--rw=randwrite", "--size=16m", "--iodepth=8"});
  EXPECT_EQ(one.exit_code, 0) << one.out << one.err;
  EXPECT_EQ(one.out.find("verify: bad"), std::string::npos) << one.out;
  auto four = Fio(Uri(c, "vm1"), {"--rw=randwrite", "--size=12m", "--iodepth=4", "--numjobs=4",
                                  "--offset_increment=16m", "--group_reporting"});
  EXPECT_EQ(four.exit_code, 0) << four.out << four.err;
  // A separate verify pass over what the four jobs wrote.
  auto verify = Fio(Uri(c, "vm1"), {"--rw=randwrite", "--size=12m", "--iodepth=4", "--numjobs=4",
                                    "--offset_increment=16m", "--verify_only", "--group_reporting"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

// Runs a long fio verify job in the background, kills `victim` once the job
// is writing, and expects fio to finish with every block verified.
class FioUnderFault {
 public:
  FioUnderFault(const std::string& uri, const std::string& log) {
    auto pid = SpawnProcess({"/usr/bin/fio", "--name=fault", "--ioengine=nbd", "--uri=" + uri, "--bs=4k",
                             "--rw=randwrite", "--size=24m", "--iodepth=8", "--verify=crc32c", "--verify_fatal=1",
                             "--do_verify=1"},
                            SpawnOptions{.log_path = log});
    EXPECT_TRUE(pid.ok());
    pid_ = pid.ok() ? *pid : -1;
    log_ = log;
  }
  int Wait() { return WaitExit(pid_); }
  std::string Log() const {
    std::ifstream in(log_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

TEST_F(BlockSystemTest, ABlockServerKilledDuringFioLosesNothingAndItsSegmentsMove) {
  TestCluster c(BlockConfig());
  ASSERT_FALSE(c.info().is_null());
  Create(c, "vm1", "32M");
  int victim = OwnerIndex(c, "vm1", 0);
  ASSERT_GE(victim, 0);
  std::string victim_id = c.info()["blockservers"][victim]["id"].get<std::string>();
  std::string victim_http = c.info()["blockservers"][victim]["http"].get<std::string>();
  FioUnderFault fio(Uri(c, "vm1"), Tmp("fio.log"));
  ASSERT_TRUE(WaitFor([&] { return Metric(victim_http, "strata_blockserver_writes_total") > 200; }, 60s));
  c.Kill(BlockServerPid(c, victim));
  int code = fio.Wait();
  EXPECT_EQ(code, 0) << fio.Log();
  EXPECT_EQ(fio.Log().find("verify: bad"), std::string::npos) << fio.Log();
  // The requests in flight at the kill were sent again, none failed.
  std::string gateway = c.info()["nbd"]["http"].get<std::string>();
  EXPECT_GT(Metric(gateway, "strata_nbd_retries_total"), 0);
  EXPECT_EQ(Metric(gateway, "strata_nbd_request_errors_total{op=\"write\"}"), 0);
  auto info = VolumeInfo(c, "vm1");
  ASSERT_FALSE(info.is_null());
  for (const auto& s : info["segments"]) {
    EXPECT_NE(s["owner_id"], victim_id) << s.dump();
    EXPECT_FALSE(s["owner_id"].get<std::string>().empty()) << s.dump();
  }
}

TEST_F(BlockSystemTest, AChunkserverKilledDuringFioLosesNothing) {
  TestCluster c(BlockConfig());
  ASSERT_FALSE(c.info().is_null());
  Create(c, "vm1", "32M");
  std::string bs_http = c.info()["blockservers"][0]["http"].get<std::string>();
  FioUnderFault fio(Uri(c, "vm1"), Tmp("fio.log"));
  ASSERT_TRUE(WaitFor(
      [&] {
        double total = 0;
        for (const auto& bs : c.info()["blockservers"]) {
          total += std::max(0.0, Metric(bs["http"].get<std::string>(), "strata_blockserver_writes_total"));
        }
        return total > 300;
      },
      60s));
  c.Kill(c.chunkserver_pid(1));
  int code = fio.Wait();
  EXPECT_EQ(code, 0) << fio.Log();
  EXPECT_EQ(fio.Log().find("verify: bad"), std::string::npos) << fio.Log();
}

// The expected contents of a volume, one pattern byte per 4 KiB block
// (0: zeros), or unknown for blocks whose last write was not flushed.
class VolumeModel {
 public:
  explicit VolumeModel(uint64_t bytes) : blocks_(bytes / 4096, 0) {}
  void Written(uint64_t offset, uint64_t length, int pattern) {
    for (uint64_t b = offset / 4096; b < (offset + length) / 4096; ++b) blocks_[b] = pattern;
  }
  // qemu-io commands reading every known run back with its pattern.
  std::vector<std::string> Checks() const {
    std::vector<std::string> cmds;
    for (size_t b = 0; b < blocks_.size();) {
      size_t e = b;
      while (e < blocks_.size() && blocks_[e] == blocks_[b]) ++e;
      if (blocks_[b] >= 0) {
        cmds.push_back("read -P " + std::to_string(blocks_[b]) + " " + std::to_string(b * 4096) + " " +
                       std::to_string((e - b) * 4096));
      }
      b = e;
    }
    return cmds;
  }

 private:
  std::vector<int> blocks_;  // -1: unknown
};

// SIGKILLs every process of the cluster and starts it again with the same
// configuration; returns the new cluster.json.
nlohmann::json KillAllAndRestart(const std::string& dir) {
  std::ifstream in(dir + "/cluster.json");
  auto doc = nlohmann::json::parse(in);
  std::vector<pid_t> pids = {doc["master_pid"].get<pid_t>(), doc["blockmanager"]["pid"].get<pid_t>(),
                             doc["nbd"]["pid"].get<pid_t>()};
  for (const auto& cs : doc["chunkservers"]) pids.push_back(cs["pid"].get<pid_t>());
  for (const auto& bs : doc["blockservers"]) pids.push_back(bs["pid"].get<pid_t>());
  for (pid_t pid : pids) ::kill(pid, SIGKILL);
  for (pid_t pid : pids) {
    EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(pid); }, 10s)) << pid;
  }
  std::string config = fs::path(dir).parent_path().string() + "/test-cluster.yaml";
  auto up = RunStrata({"up", "--dir", dir, "--config", config, "--detach"});
  EXPECT_EQ(up.exit_code, 0) << up.err << up.out;
  std::ifstream again(dir + "/cluster.json");
  return nlohmann::json::parse(again);
}

TEST_F(BlockSystemTest, EveryFlushedBlockSurvivesSigkillOfTheWholeCluster) {
  TestCluster c(BlockConfig());
  ASSERT_FALSE(c.info().is_null());
  constexpr uint64_t kVolume = 16 * kMiB;
  Create(c, "vm1", "16M");
  VolumeModel model(kVolume);
  std::mt19937_64 rng(20261202);
  std::string nbd = c.info()["nbd"]["addr"].get<std::string>();
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    std::string uri = "nbd://" + nbd + "/vm1";
    // Flushed writes: acknowledged, then a FLUSH; each must survive.
    std::vector<std::string> cmds;
    std::vector<std::tuple<uint64_t, uint64_t, int>> flushed;
    for (int w = 0; w < 4; ++w) {
      uint64_t len = (1 + rng() % 64) * 4096;
      uint64_t off = (rng() % ((kVolume - len) / 4096)) * 4096;
      int pattern = 1 + static_cast<int>(rng() % 250);
      std::string op = w % 2 == 0 ? "write -P " : "write -f -P ";  // -f: FUA
      cmds.push_back(op + std::to_string(pattern) + " " + std::to_string(off) + " " + std::to_string(len));
      flushed.emplace_back(off, len, pattern);
    }
    cmds.push_back("flush");
    auto w = QemuIo(uri, cmds);
    ASSERT_TRUE(QemuIoOk(w)) << "round " << round << ": " << w.out << w.err;
    for (auto [off, len, pattern] : flushed) model.Written(off, len, pattern);
    // Unflushed writes in flight at a random moment of the kill: their
    // blocks may hold either version afterwards.
    uint64_t len = 2 * kMiB, off = (rng() % ((kVolume - len) / 4096)) * 4096;
    auto bg = SpawnProcess({"/usr/bin/qemu-io", "-f", "raw", "-c",
                            "write -P 251 " + std::to_string(off) + " " + std::to_string(len), uri},
                           SpawnOptions{.log_path = Tmp("bg.log")});
    ASSERT_TRUE(bg.ok());
    model.Written(off, len, -1);
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 150));
    auto doc = KillAllAndRestart(c.dir());
    ::kill(*bg, SIGKILL);
    (void)WaitExit(*bg);
    nbd = doc["nbd"]["addr"].get<std::string>();
    auto check = QemuIo("nbd://" + nbd + "/vm1", model.Checks());
    ASSERT_TRUE(QemuIoOk(check)) << "round " << round << ": " << check.out << check.err;
  }
}

TEST_F(BlockSystemTest, AFrozenBlockServerCannotWriteAnythingAReaderSees) {
  TestCluster c(BlockConfig());
  ASSERT_FALSE(c.info().is_null());
  Create(c, "vm1", "16M");
  std::string uri = Uri(c, "vm1");
  ASSERT_TRUE(QemuIoOk(QemuIo(uri, {"write -P 1 0 256k", "flush"})));
  int old = OwnerIndex(c, "vm1", 0);
  ASSERT_GE(old, 0);
  std::string old_id = c.info()["blockservers"][old]["id"].get<std::string>();
  uint64_t old_epoch = VolumeInfo(c, "vm1")["segments"][0]["epoch"].get<uint64_t>();
  pid_t frozen = BlockServerPid(c, old);
  ASSERT_EQ(::kill(frozen, SIGSTOP), 0);
  // Its segments move once it is declared dead.
  ASSERT_TRUE(WaitFor(
      [&] {
        int now = OwnerIndex(c, "vm1", 0);
        return now >= 0 && now != old;
      },
      30s));
  ASSERT_TRUE(QemuIoOk(QemuIo(uri, {"write -P 2 0 256k", "flush"})));
  ASSERT_EQ(::kill(frozen, SIGCONT), 0);
  // The woken server's writes are refused: its lease ran out and the new
  // owner fenced its data files. Reads through the gateway see pattern 2.
  auto direct = RunStrata({"debug", "block-write", "--server", c.info()["blockservers"][old]["addr"], "--volume-id",
                           "1", "--segment", "0", "--epoch", std::to_string(old_epoch), "--offset", "0", "--pattern", "3",
                           "--length", "4096", "--dir", c.dir()});
  EXPECT_NE(direct.exit_code, 0) << direct.out << direct.err;
  // Nor with the new epoch: it does not own the segment any more.
  uint64_t new_epoch = VolumeInfo(c, "vm1")["segments"][0]["epoch"].get<uint64_t>();
  EXPECT_GT(new_epoch, old_epoch);
  auto direct_new = RunStrata({"debug", "block-write", "--server", c.info()["blockservers"][old]["addr"],
                               "--volume-id", "1", "--segment", "0", "--epoch", std::to_string(new_epoch),
                               "--offset", "0", "--pattern", "3", "--length", "4096", "--dir", c.dir()});
  EXPECT_NE(direct_new.exit_code, 0) << direct_new.out << direct_new.err;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto info = VolumeInfo(c, "vm1");
        return !info.is_null() && OwnerIndex(c, "vm1", 0) != old;
      },
      10s));
  auto check = QemuIo(uri, {"read -P 2 0 256k"});
  EXPECT_TRUE(QemuIoOk(check)) << check.out << check.err;
  EXPECT_NE(OwnerIndex(c, "vm1", 0), old);
}

TEST_F(BlockSystemTest, AGatewayKilledMidWriteLosesNothingFlushedAndAReconnectingClientSeesIt) {
  TestCluster c(BlockConfig());
  ASSERT_FALSE(c.info().is_null());
  Create(c, "vm1", "16M");
  std::string uri = Uri(c, "vm1");
  ASSERT_TRUE(QemuIoOk(QemuIo(uri, {"write -P 7 0 1M", "write -f -P 8 1M 1M", "flush"})));
  auto blockserver_writes = [&] {
    double total = 0;
    for (const auto& bs : c.info()["blockservers"]) {
      total += std::max(0.0, Metric(bs["http"].get<std::string>(), "strata_blockserver_writes_total"));
    }
    return total;
  };
  // A stream of writes in flight when the gateway dies.
  double before = blockserver_writes();
  auto bg = SpawnProcess({"/usr/bin/qemu-io", "-f", "raw", "-c", "write -P 9 4M 8M", uri},
                         SpawnOptions{.log_path = Tmp("bg.log")});
  ASSERT_TRUE(bg.ok());
  ASSERT_TRUE(WaitFor([&] { return blockserver_writes() > before; }, 30s));
  pid_t gateway = c.info()["nbd"]["pid"].get<pid_t>();
  ASSERT_EQ(::kill(gateway, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return !ProcessAlive(gateway); }, 10s));
  ::kill(*bg, SIGKILL);
  (void)WaitExit(*bg);
  // A new gateway on the same port.
  std::string addr = c.info()["nbd"]["addr"].get<std::string>();
  std::string host = addr.substr(0, addr.rfind(':')), port = addr.substr(addr.rfind(':') + 1);
  pid_t again = StartStrata({"nbd", "--manager", Manager(c), "--host", host, "--port", port, "--http-port", "0",
                             "--secret-file", c.secret_file()},
                            Tmp("nbd.log"));
  ASSERT_GT(again, 0);
  EXPECT_TRUE(WaitFor([&] { return RunCommand({"nbdinfo", "--size", uri}).exit_code == 0; }, 30s));
  auto check = QemuIo(uri, {"read -P 7 0 1M", "read -P 8 1M 1M", "read -P 0 2M 2M", "read -P 0 12M 4M"});
  EXPECT_TRUE(QemuIoOk(check)) << check.out << check.err;
  // The range being written when the gateway died holds, block by block,
  // either the old zeros or the new pattern, never a torn block.
  std::string copy = Tmp("copy.img");
  auto out = RunCommand({"nbdcopy", uri, copy});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  std::ifstream in(copy, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), {});
  ASSERT_EQ(data.size(), 16 * kMiB);
  for (uint64_t b = 4 * kMiB / 4096; b < 12 * kMiB / 4096; ++b) {
    std::string_view block(data.data() + b * 4096, 4096);
    bool zeros = block.find_first_not_of('\0') == std::string_view::npos;
    bool pattern = block.find_first_not_of('\x09') == std::string_view::npos;
    ASSERT_TRUE(zeros || pattern) << "block " << b << " is torn";
  }
  ::kill(again, SIGTERM);
  EXPECT_EQ(WaitExit(again), 0);
}

// A port no process listens on now (the kernel's choice for port 0).
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return -1;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST_F(BlockSystemTest, UpTakesTheNbdPortItIsGivenAndRefusesABusyOne) {
  int port = FreePort();
  ASSERT_GT(port, 0);
  {
    TestClusterConfig config = BlockConfig();
    config.up_args = {"--nbd-port", std::to_string(port)};
    TestCluster c(config);
    ASSERT_FALSE(c.info().is_null());
    EXPECT_EQ(c.info()["nbd"]["addr"], "127.0.0.1:" + std::to_string(port));
    Create(c, "vm1", "8M");
    auto size = RunCommand({"nbdinfo", "--size", "nbd://127.0.0.1:" + std::to_string(port) + "/vm1"});
    EXPECT_EQ(size.exit_code, 0) << size.err;
    EXPECT_EQ(size.out, "8388608\n");
    // Another cluster asked for the same port is refused before it starts
    // anything.
    std::string config_path = Tmp("second.yaml");
    {
      std::ofstream out(config_path);
      out << "chunkservers: 3\nracks: 1\ndisks_per_chunkserver: 1\ncache:\n  enabled: false\n";
    }
    auto second = RunStrata({"up", "--dir", Tmp("second"), "--config", config_path, "--detach", "--nbd-port",
                             std::to_string(port)});
    if (second.exit_code == 0) (void)RunStrata({"down", "--dir", Tmp("second")});
    EXPECT_NE(second.exit_code, 0);
    EXPECT_NE(second.err.find("port " + std::to_string(port)), std::string::npos) << second.err;
    EXPECT_NE(second.err.find("in use"), std::string::npos) << second.err;
    EXPECT_FALSE(fs::exists(Tmp("second") + "/cluster.json"));
  }
  auto bad = RunStrata({"up", "--dir", Tmp("third"), "--nbd-port", "70000", "--detach"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
}

TEST_F(BlockSystemTest, ClusterStatusShowsTheBlockRolesVolumesAndSegmentOwners) {
  TestCluster c(BlockConfig());
  ASSERT_FALSE(c.info().is_null());
  Create(c, "vm1", "16M");
  ASSERT_TRUE(QemuIoOk(QemuIo(Uri(c, "vm1"), {"write -P 1 0 1M", "flush"})));
  auto text = RunStrata({"cluster", "status", "--dir", c.dir()});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("blockmanager: " + Manager(c)), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("3/3 blockservers alive; 1 volume, 4 segments (0 unassigned"), std::string::npos) << text.out;
  for (const auto& bs : c.info()["blockservers"]) {
    EXPECT_NE(text.out.find(bs["id"].get<std::string>() + "  " + bs["addr"].get<std::string>() + "  alive"),
              std::string::npos)
        << text.out;
  }
  EXPECT_NE(text.out.find("vm1  16.0 MiB  sync  4 segments"), std::string::npos) << text.out;
  auto info = VolumeInfo(c, "vm1");
  ASSERT_FALSE(info.is_null());
  for (const auto& s : info["segments"]) {
    std::string line = "vm1/" + std::to_string(s["index"].get<int>()) + "  owner " + s["owner_id"].get<std::string>();
    EXPECT_NE(text.out.find(line), std::string::npos) << line << "\n" << text.out;
  }
  auto json = RunStrata({"cluster", "status", "--dir", c.dir(), "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto doc = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << json.out;
  ASSERT_TRUE(doc.contains("block")) << json.out;
  EXPECT_EQ(doc["block"]["volumes"][0]["name"], "vm1");
  EXPECT_EQ(doc["block"]["segments"].size(), 4u);
  EXPECT_TRUE(doc.contains("chunkservers"));
  // A blockmanager that does not answer is reported, and the exit code says so.
  ASSERT_EQ(::kill(c.info()["blockmanager"]["pid"].get<pid_t>(), SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return !ProcessAlive(c.info()["blockmanager"]["pid"].get<pid_t>()); }, 10s));
  auto down = RunStrata({"cluster", "status", "--dir", c.dir()});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_NE(down.out.find("blockmanager: UNREACHABLE"), std::string::npos) << down.out;
  EXPECT_NE(down.out.find("chunkservers:"), std::string::npos) << down.out;
}

TEST_F(BlockSystemTest, FlushOfAMemoryVolumeSyncsItsWritesOnTheChunkservers) {
  TestClusterConfig config = BlockConfig();
  // The chunkservers' background flusher waits ten minutes: only FLUSH syncs.
  config.chunkserver_yaml = "  memory_flush_batch_ms: 600000\n  memory_flush_delay_ms_max: 1200000\n";
  TestCluster c(config);
  ASSERT_FALSE(c.info().is_null());
  Create(c, "vm1", "16M", "memory");
  auto unsynced = [&] {
    uint64_t total = 0;
    for (const auto& cs : c.info()["chunkservers"]) {
      auto r = RunCommand({"curl", "-s", "--max-time", "2", "http://" + cs["http"].get<std::string>() + "/status"});
      auto doc = nlohmann::json::parse(r.out, nullptr, false);
      if (doc.is_discarded() || !doc.contains("disks")) continue;
      for (const auto& d : doc["disks"]) total += d.value("memory_unsynced_bytes", uint64_t{0});
    }
    return total;
  };
  std::string src = Tmp("src.img");
  WriteRandomFile(src, 4 * kMiB, 31);
  auto copy = RunCommand({"nbdcopy", src, Uri(c, "vm1")});  // no --flush
  ASSERT_EQ(copy.exit_code, 0) << copy.err;
  // Every replica holds the writes (data records and the segments' own
  // bookkeeping) in memory, none synced; wait until the third replicas
  // caught up and the count holds still.
  uint64_t before = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        uint64_t now = unsynced();
        bool still = now >= 3 * 4 * kMiB && now == before;
        before = now;
        return still;
      },
      10s))
      << before;
  auto flush = QemuIo(Uri(c, "vm1"), {"flush"});
  ASSERT_TRUE(QemuIoOk(flush)) << flush.out << flush.err;
  // FLUSH answers once min_copies (2 of 3) replicas of each open chunk
  // synced (docs/block.md): at most one replica's worth may be unsynced.
  uint64_t after = unsynced();
  EXPECT_LE(after, before / 3 + 64 * 1024) << "before FLUSH " << before;
  double flushes = 0;
  for (const auto& bs : c.info()["blockservers"]) {
    flushes += std::max(0.0, Metric(bs["http"].get<std::string>(), "strata_blockserver_flushes_total"));
  }
  EXPECT_GE(flushes, 4);  // one per segment
  auto back = RunCommand({"nbdcopy", Uri(c, "vm1"), Tmp("back.img")});
  ASSERT_EQ(back.exit_code, 0) << back.err;
  ASSERT_EQ(RunCommand({"truncate", "-s", "16M", src}).exit_code, 0);
  EXPECT_TRUE(FilesEqual(src, Tmp("back.img")));
}

TEST_F(BlockSystemTest, GarbageCollectionBringsStoredBytesBackNearTheLiveData) {
  TestCluster c(BlockConfig());
  ASSERT_FALSE(c.info().is_null());
  Create(c, "vm1", "16M");
  std::string last;
  for (int pass = 0; pass < 5; ++pass) {
    last = Tmp("pass" + std::to_string(pass));
    WriteRandomFile(last, 16 * kMiB, 100 + pass);
    auto r = RunCommand({"nbdcopy", last, Uri(c, "vm1")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // 80 MiB were written; 16 MiB are live. GC and checkpoints bring the
  // stored bytes back near 16 MiB: at most the live data, a data file per
  // segment and one more per segment not yet half dead.
  uint64_t stored = 0, live = 0;
  bool near = WaitFor(
      [&] {
        auto info = VolumeInfo(c, "vm1");
        if (info.is_null() || info.is_discarded()) return false;
        stored = info["stored_bytes"].get<uint64_t>();
        live = info["live_bytes"].get<uint64_t>();
        return live == 16 * kMiB && stored <= live + 4 * 2 * kMiB;
      },
      60s);
  EXPECT_TRUE(near) << "stored " << stored << " live " << live;
  std::string back = Tmp("back");
  ASSERT_EQ(RunCommand({"nbdcopy", Uri(c, "vm1"), back}).exit_code, 0);
  EXPECT_TRUE(FilesEqual(last, back));
  // The dfs holds what the blockservers report.
  auto ls = c.Cli({"fs", "ls", "-l", "/block/v1/s0"});
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
}

TEST_F(BlockSystemTest, BadClientsGetClearErrorsAndOthersKeepBeingServed) {
  TestCluster c(BlockConfig());
  ASSERT_FALSE(c.info().is_null());
  Create(c, "vm1", "8M");
  std::string uri = Uri(c, "vm1");
  auto [host, port_text] = [&] {
    std::string addr = c.info()["nbd"]["addr"].get<std::string>();
    return std::make_pair(addr.substr(0, addr.find(':')), addr.substr(addr.find(':') + 1));
  }();
  int port = std::stoi(port_text);
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 4096);
  setrlimit(RLIMIT_NOFILE, &lim);
  auto connect_one = [&]() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  };
  // Garbage and a truncated handshake.
  for (const std::string& junk : {std::string("GET / HTTP/1.1\r\n\r\n"), std::string("\0\0\0", 3)}) {
    int fd = connect_one();
    ASSERT_GE(fd, 0);
    (void)!::write(fd, junk.data(), junk.size());
    ::close(fd);
  }
  // 1,000 idle connections.
  std::vector<int> idle;
  for (int i = 0; i < 1000; ++i) {
    int fd = connect_one();
    if (fd >= 0) idle.push_back(fd);
  }
  EXPECT_EQ(idle.size(), 1000u);
  auto info = RunCommand({"nbdinfo", "--size", uri});
  EXPECT_EQ(info.exit_code, 0) << info.err;
  EXPECT_EQ(info.out, "8388608\n");
  for (int fd : idle) ::close(fd);
  // Beyond the end: an error, and the same connection still serves.
  auto beyond = QemuIo(uri, {"write -P 7 8M 4k", "write -P 7 0 4k", "read -P 7 0 4k"});
  EXPECT_NE(beyond.out.find("read 4096/4096"), std::string::npos) << beyond.out << beyond.err;
  EXPECT_TRUE(beyond.out.find("error") != std::string::npos || beyond.err.find("rror") != std::string::npos ||
              beyond.err.find("out of") != std::string::npos)
      << beyond.out << beyond.err;
}

}  // namespace
}  // namespace strata::testing
