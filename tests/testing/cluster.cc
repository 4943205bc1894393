#include "testing/cluster.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "common/subprocess.h"

namespace strata::testing {
namespace {

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Cluster shape and timings for tests: small chunks, fast failure detection.
// The test config; the master: and chunkserver: sections take the
// TestClusterConfig lines right after their own. No cache server unless
// TestClusterConfig has cache: lines.
std::string TestConfig(const TestClusterConfig& c) {
  return "chunkservers: 6\n"
         "racks: 3\n"
         "disks_per_chunkserver: 2\n"
         "ready_timeout_ms: 30000\n"
         "cache:\n" +
         (c.cache_yaml.empty() ? std::string("  enabled: false\n") : c.cache_yaml) +
         "block:\n  nbd_port: 0\n" + (c.block_yaml.empty() ? std::string("  enabled: false\n") : c.block_yaml) +
         "blockmanager:\n"
         "  heartbeat_interval_ms: 200\n"
         "  lease_ms: 1500\n"
         "  dead_after_ms: 2500\n" +
         c.blockmanager_yaml + "blockserver:\n" + "  gc_interval_ms: 500\n" + c.blockserver_yaml +
         "master:\n"
         "  default_chunk_size: 4M\n"
         "  chunkserver_dead_after_ms: 3000\n"
         "  heartbeat_interval_ms: 300\n" +
         c.master_yaml +
         "chunkserver:\n"
         "  heartbeat_interval_ms: 300\n" +
         c.chunkserver_yaml + c.extra_yaml;
}

}  // namespace

std::string StrataBinary() {
  const char* bin = std::getenv("STRATA_BIN");
  return bin ? bin : "build/strata";
}

CommandResult RunStrata(const std::vector<std::string>& args) {
  std::vector<std::string> full = {StrataBinary()};
  full.insert(full.end(), args.begin(), args.end());
  return RunCommand(full);
}

CommandResult RunCommand(const std::vector<std::string>& full) {
  static std::atomic<int> counter{0};
  std::string base = std::filesystem::temp_directory_path().string() + "/strata_cli_" + std::to_string(::getpid()) +
                     "_" + std::to_string(counter++);
  std::string out_path = base + ".out", err_path = base + ".err";
  pid_t pid = ::fork();
  if (pid == 0) {
    int in = ::open("/dev/null", O_RDONLY);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<std::string> copy = full;
    std::vector<char*> argv;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  CommandResult r;
  r.exit_code = WaitExit(pid);
  r.out = ReadWhole(out_path);
  r.err = ReadWhole(err_path);
  std::filesystem::remove(out_path);
  std::filesystem::remove(err_path);
  return r;
}

pid_t StartStrata(const std::vector<std::string>& args, const std::string& out_path) {
  std::vector<std::string> full = {StrataBinary()};
  full.insert(full.end(), args.begin(), args.end());
  auto pid = SpawnProcess(full, SpawnOptions{.log_path = out_path});
  EXPECT_TRUE(pid.ok()) << pid.status().ToString();
  return pid.ok() ? *pid : -1;
}

int WaitExit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

void WriteRandomFile(const std::string& path, uint64_t bytes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::vector<uint64_t> block(8192);
  while (bytes > 0) {
    for (auto& w : block) w = rng();
    size_t n = static_cast<size_t>(std::min<uint64_t>(bytes, block.size() * 8));
    out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n));
    bytes -= n;
  }
}

bool FilesEqual(const std::string& a, const std::string& b) {
  std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
  if (!fa || !fb) return false;
  std::vector<char> ba(1 << 20), bb(1 << 20);
  for (;;) {
    fa.read(ba.data(), static_cast<std::streamsize>(ba.size()));
    fb.read(bb.data(), static_cast<std::streamsize>(bb.size()));
    if (fa.gcount() != fb.gcount()) return false;
    if (!std::equal(ba.begin(), ba.begin() + fa.gcount(), bb.begin())) return false;
    if (fa.gcount() == 0) return true;
  }
}

TestCluster::TestCluster(const std::string& extra_yaml) : TestCluster(TestClusterConfig{.extra_yaml = extra_yaml}) {}

TestCluster::TestCluster(const TestClusterConfig& cluster_config) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  dir_ = std::filesystem::temp_directory_path().string() + "/strata_" + std::to_string(::getpid()) + "_" +
         (info ? info->name() : "cluster");
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  std::string config = dir_ + "/test-cluster.yaml";
  {
    std::ofstream out(config);
    out << TestConfig(cluster_config);
  }
  std::vector<std::string> up = {"up", "--dir", dir_ + "/cluster", "--config", config, "--detach"};
  up.insert(up.end(), cluster_config.up_args.begin(), cluster_config.up_args.end());
  auto r = RunStrata(up);
  if (r.exit_code != 0) {
    ADD_FAILURE() << "strata up failed (" << r.exit_code << "): " << r.err << r.out;
    return;
  }
  dir_ += "/cluster";
  std::ifstream in(dir_ + "/cluster.json");
  info_ = nlohmann::json::parse(in);
  master_argv_ = CommandLine(info_["master_pid"].get<pid_t>());
  for (int i = 0; i < chunkserver_count(); ++i) chunkserver_argv_.push_back(CommandLine(chunkserver_pid(i)));
}

TestCluster::~TestCluster() {
  if (!info_.is_null()) {
    // cluster.json may hold stale pids after restarts; stop what we started too.
    auto r = RunStrata({"down", "--dir", dir_});
    if (r.exit_code != 0) ADD_FAILURE() << "strata down failed: " << r.err;
  }
  for (pid_t pid : extra_pids_) (void)StopProcess(pid, 5000);
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(std::filesystem::path(dir_).parent_path());
}

ScratchDir::ScratchDir(const std::string& prefix)
    : dir_(std::filesystem::temp_directory_path().string() + "/" + prefix + "_" + std::to_string(::getpid())) {}

ScratchDir::~ScratchDir() {
  if (::testing::Test::HasFailure()) return;  // kept for the logs
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string ScratchDir::Path(const std::string& name) const {
  std::filesystem::create_directories(dir_);
  return dir_ + "/" + name;
}

bool ChunksFullyReplicated(const nlohmann::json& stat, size_t want,
                           const std::function<bool(const nlohmann::json& replica)>& excluded) {
  if (stat.is_null() || stat.is_discarded() || !stat.contains("chunk_list")) return false;
  for (const auto& ch : stat["chunk_list"]) {
    std::set<std::string> racks;
    for (const auto& r : ch["replicas"]) {
      if (excluded && excluded(r)) return false;
      racks.insert(r["rack"].get<std::string>());
    }
    if (ch["replicas"].size() != want || racks.size() != want) return false;
  }
  return true;
}

int TestCluster::chunkserver_index(const std::string& id) const {
  for (int i = 0; i < chunkserver_count(); ++i) {
    if (chunkserver_id(i) == id) return i;
  }
  return -1;
}

CommandResult TestCluster::Cli(std::vector<std::string> args) const {
  args.push_back("--master");
  args.push_back(master());
  args.push_back("--secret-file");
  args.push_back(secret_file());
  return RunStrata(args);
}

nlohmann::json TestCluster::StatJson(const std::string& path) const {
  auto r = Cli({"fs", "stat", "--json", path});
  if (r.exit_code != 0) return nullptr;
  return nlohmann::json::parse(r.out, nullptr, false);
}

nlohmann::json TestCluster::ClusterStatusJson() const {
  auto r = Cli({"cluster", "status", "--json"});
  if (r.exit_code != 0) return nullptr;
  return nlohmann::json::parse(r.out, nullptr, false);
}

nlohmann::json TestCluster::DiskStatus(const std::string& server, int disk) const {
  auto status = ClusterStatusJson();
  if (status.is_null() || status.is_discarded()) return nullptr;
  for (const auto& cs : status["chunkservers"]) {
    if (cs["id"] != server) continue;
    for (const auto& d : cs["disks"]) {
      if (d["index"] == disk) return d;
    }
  }
  return nullptr;
}

std::string TestCluster::ReplicaChunkPath(const nlohmann::json& replica, uint64_t chunk_id) const {
  int idx = chunkserver_index(replica["server_id"].get<std::string>());
  std::string disk = info_["chunkservers"][idx]["disks"][replica["disk"].get<int>()].get<std::string>();
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(chunk_id));
  return disk + "/chunks/" + hex + ".chunk";
}

void TestCluster::Kill(pid_t pid, int sig) {
  ::kill(pid, sig);
  if (sig == SIGKILL) {
    EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(pid); }, std::chrono::seconds(10)));
  }
}

std::string TestCluster::WrittenPath(const std::string& path) const {
  size_t slash = path.find_last_of('/');
  std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  std::string prefix = "." + path.substr(slash + 1) + ".put-";
  auto ls = Cli({"fs", "ls", "--json", dir});
  auto entries = nlohmann::json::parse(ls.out, nullptr, false);
  if (ls.exit_code != 0 || !entries.is_array()) return path;
  for (const auto& e : entries) {
    std::string p = e.value("path", std::string());
    if (p.substr(p.find_last_of('/') + 1).rfind(prefix, 0) == 0) return p;
  }
  return path;
}

std::string TestCluster::KillHolderOfNewestChunk(const std::string& path, size_t replica) {
  std::string victim;
  bool found = WaitFor([&] {
    auto st = StatJson(WrittenPath(path));
    if (st.is_null() || st.is_discarded() || st["chunk_list"].empty()) return false;
    const auto& replicas = st["chunk_list"].back()["replicas"];
    if (replicas.size() <= replica) return false;
    victim = replicas[replica]["server_id"].get<std::string>();
    return true;
  }, std::chrono::seconds(30));
  int idx = found ? chunkserver_index(victim) : -1;
  if (idx < 0) {
    ADD_FAILURE() << "no chunk of " << path << " with a replica " << replica << " on a known server";
    return "";
  }
  Kill(chunkserver_pid(idx), SIGKILL);
  return victim;
}

std::vector<std::string> TestCluster::CommandLine(pid_t pid) {
  std::string raw = ReadWhole("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> argv;
  size_t start = 0;
  while (start < raw.size()) {
    size_t end = raw.find('\0', start);
    if (end == std::string::npos) end = raw.size();
    argv.push_back(raw.substr(start, end - start));
    start = end + 1;
  }
  return argv;
}

pid_t TestCluster::Respawn(const std::vector<std::string>& argv, const std::string& log_name) {
  auto pid = SpawnProcess(argv, SpawnOptions{.log_path = dir_ + "/logs/" + log_name + ".log"});
  EXPECT_TRUE(pid.ok());
  extra_pids_.push_back(*pid);
  return *pid;
}

void TestCluster::RestartMaster() {
  pid_t pid = Respawn(master_argv_, "master");
  info_["master_pid"] = pid;
  auto hp = master().substr(master().rfind(':') + 1);
  EXPECT_TRUE(WaitFor([&] { return PortAcceptsConnections("127.0.0.1", std::stoi(hp)); }, std::chrono::seconds(30)));
}

void TestCluster::RestartChunkserver(int i) {
  pid_t pid = Respawn(chunkserver_argv_[static_cast<size_t>(i)], chunkserver_id(i));
  info_["chunkservers"][i]["pid"] = pid;
}

}  // namespace strata::testing
