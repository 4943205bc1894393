// System tests of authentication between roles (docs/rpc.md,
// "Authentication"): on a cluster started by `strata up`, a client without
// the cluster secret, or with another one, can neither read nor change
// anything, through the CLI or a raw RPC client; fault injection needs the
// secret and a chunkserver that enabled it; with a password, both cache
// ports refuse every command before authentication.
#include <sys/stat.h>
#include <sys/wait.h>

#include <asio.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "block.pb.h"
#include "chunkserver.pb.h"
#include "common/subprocess.h"
#include "master.pb.h"
#include "rpc/client.h"
#include "testing/cluster.h"

namespace strata::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const char* kPassword = "sekret";

TestClusterConfig AuthClusterConfig() {
  TestClusterConfig c;
  c.extra_yaml = "chunkservers: 3\n";
  c.block_yaml = "  enabled: true\n  blockservers: 1\n";
  return c;
}

// A blocking TCP client for the cache's text protocols.
class TextClient {
 public:
  explicit TextClient(const std::string& endpoint) : socket_(io_) {
    auto colon = endpoint.rfind(':');
    socket_.connect(asio::ip::tcp::endpoint(asio::ip::make_address(endpoint.substr(0, colon)),
                                            static_cast<uint16_t>(std::stoi(endpoint.substr(colon + 1)))));
  }
  // Sends `request` and reads until the reply ends with `end`.
  std::string Send(const std::string& request, const std::string& end = "\r\n") {
    asio::write(socket_, asio::buffer(request));
    std::string reply;
    char buf[4096];
    while (reply.size() < end.size() || reply.compare(reply.size() - end.size(), end.size(), end) != 0) {
      asio::error_code ec;
      size_t n = socket_.read_some(asio::buffer(buf), ec);
      if (ec) break;
      reply.append(buf, n);
    }
    return reply;
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
};

class AuthSystemTest : public ::testing::Test {
 protected:
  void SetUp() override { ::unsetenv("STRATA_SECRET_FILE"); }

  // `strata args... --master M`, with the secret only if `secret_file` is
  // given; --dir names an empty directory, so none is found beside a
  // cluster.json.
  CommandResult Without(const TestCluster& c, std::vector<std::string> args, const std::string& secret_file = "") {
    args.insert(args.end(), {"--dir", scratch_.Path("nocluster")});
    if (args[0] == "volume") {
      args.insert(args.end(), {"--blockmanager", c.info()["blockmanager"]["addr"].get<std::string>()});
    } else {
      args.insert(args.end(), {"--master", c.master()});
    }
    if (!secret_file.empty()) args.insert(args.end(), {"--secret-file", secret_file});
    return RunStrata(args);
  }
  std::string WrongSecretFile() {
    const std::string path = scratch_.Path("wrong.secret");
    std::ofstream(path) << std::string(64, 'a') << "\n";
    ::chmod(path.c_str(), 0600);
    return path;
  }
  static uint64_t MetricValue(const std::string& metrics_url, const std::string& name) {
    auto r = RunCommand({"curl", "-s", metrics_url});
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(name + " ", 0) == 0) return std::stoull(line.substr(name.size() + 1));
    }
    return 0;
  }
  // The test's files, the volumes and cs1's disk faults (the root also holds
  // what the block roles make in the background).
  static std::string ClusterState(const TestCluster& c) {
    auto keep = c.Cli({"fs", "ls", "--json", "/keep"});
    auto vols = RunStrata({"volume", "ls", "--json", "--dir", c.dir()});
    // cs1's own view of its disks' injected faults (none).
    auto cs1 = RunCommand({"curl", "-s", "http://" + c.info()["chunkservers"][0]["http"].get<std::string>() + "/status"});
    auto doc = nlohmann::json::parse(cs1.out, nullptr, false);
    std::string faults;
    if (!doc.is_discarded()) {
      for (const auto& d : doc["disks"]) faults += d.value("fault", nlohmann::json()).dump();
    }
    return keep.out + "|" + vols.out + "|" + faults;
  }

  ScratchDir scratch_{"strata_auth"};
};

TEST_F(AuthSystemTest, ClientWithoutTheSecretCanNeitherReadNorChangeAnything) {
  TestCluster c(AuthClusterConfig());
  ASSERT_FALSE(c.info().is_null());
  // `strata up` made the secret beside cluster.json, for its owner only.
  struct stat st {};
  ASSERT_EQ(::stat(c.secret_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  for (const auto& role : {c.info()["master_pid"].get<pid_t>(), c.chunkserver_pid(0)}) {
    auto argv = TestCluster::CommandLine(role);
    EXPECT_NE(std::find(argv.begin(), argv.end(), "--secret-file"), argv.end());
  }
  const std::string src = scratch_.Path("src");
  WriteRandomFile(src, 100000, 7);
  ASSERT_EQ(c.Cli({"fs", "mkdir", "/keep"}).exit_code, 0);
  ASSERT_EQ(c.Cli({"fs", "put", src, "/keep/f"}).exit_code, 0);
  auto made = RunStrata({"volume", "create", "vm1", "8M", "--dir", c.dir()});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string before = ClusterState(c);
  const std::string master_metrics = c.info()["master_metrics"].get<std::string>();
  const uint64_t failures_before = MetricValue(master_metrics, "strata_rpc_auth_failures_total");

  const std::string wrong = WrongSecretFile();
  const std::vector<std::vector<std::string>> commands = {
      {"fs", "ls", "/"},
      {"fs", "mkdir", "/new"},
      {"fs", "put", src, "/keep/g"},
      {"fs", "rm", "-r", "/keep"},
      {"volume", "ls"},
      {"volume", "create", "vm2", "8M"},
      {"volume", "rm", "vm1"},
      {"debug", "disk-fault", "--server", "cs1", "--disk", "0", "--error-rate", "1"},
  };
  for (const auto& cmd : commands) {
    auto none = Without(c, cmd);
    EXPECT_EQ(none.exit_code, 1) << cmd[0] << " " << cmd[1];
    EXPECT_NE(none.err.find("authentication required"), std::string::npos) << cmd[1] << ": " << none.err;
    auto other = Without(c, cmd, wrong);
    EXPECT_EQ(other.exit_code, 1) << cmd[0] << " " << cmd[1];
    EXPECT_NE(other.err.find("did not prove that it knows the cluster secret"), std::string::npos)
        << cmd[1] << ": " << other.err;
  }
  // A secret file others may read is refused before anything is sent.
  const std::string open_secret = scratch_.Path("open.secret");
  fs::copy_file(c.secret_file(), open_secret);
  ::chmod(open_secret.c_str(), 0644);
  auto open = Without(c, {"fs", "ls", "/"}, open_secret);
  EXPECT_NE(open.exit_code, 0);
  EXPECT_NE(open.err.find("chmod 600"), std::string::npos) << open.err;

  // A raw RPC client without the secret, straight at each server.
  rpc::RpcClient raw(rpc::RpcClientOptions{.default_timeout_ms = 5000});
  dfs::MkdirRequest mkdir;
  mkdir.set_path("/raw");
  dfs::DeleteRequest del;
  del.set_path("/keep");
  del.set_recursive(true);
  dfs::ListRequest list;
  list.set_path("/");
  dfs::DiskFaultRequest fault;
  fault.set_disk(0);
  fault.mutable_fault()->set_error_rate(1);
  block::DeleteVolumeRequest rm_volume;
  rm_volume.set_name("vm1");
  const std::string cs1 = c.info()["chunkservers"][0]["addr"].get<std::string>();
  const std::string manager = c.info()["blockmanager"]["addr"].get<std::string>();
  const std::string blockserver = c.info()["blockservers"][0]["addr"].get<std::string>();
  struct RawCall {
    std::string endpoint;
    uint32_t method;
    const google::protobuf::Message* req;
  };
  for (const RawCall& call : std::vector<RawCall>{{c.master(), dfs::MASTER_LIST, &list},
                                                  {c.master(), dfs::MASTER_MKDIR, &mkdir},
                                                  {c.master(), dfs::MASTER_DELETE, &del},
                                                  {cs1, dfs::CHUNKSERVER_DISK_FAULT, &fault},
                                                  {manager, block::BM_DELETE_VOLUME, &rm_volume},
                                                  {blockserver, block::BS_WRITE, &rm_volume}}) {
    Status st = raw.CallTyped(call.endpoint, call.method, *call.req, nullptr);
    EXPECT_EQ(st.code(), StatusCode::kPermissionDenied) << call.endpoint << " " << call.method << ": " << st.ToString();
    EXPECT_NE(st.message().find("authentication required"), std::string::npos) << st.message();
  }

  // Nothing changed, and the master counted the refusals.
  EXPECT_EQ(ClusterState(c), before);
  for (const char* path : {"/new", "/raw", "/keep/g"}) EXPECT_NE(c.Cli({"fs", "stat", path}).exit_code, 0) << path;
  auto stat = c.StatJson("/keep/f");
  EXPECT_EQ(stat["size"], 100000);
  EXPECT_GE(MetricValue(master_metrics, "strata_rpc_auth_failures_total"), failures_before + 10);
  // The holder of the secret is served as before.
  const std::string dst = scratch_.Path("dst");
  ASSERT_EQ(c.Cli({"fs", "get", "/keep/f", dst}).exit_code, 0);
  EXPECT_TRUE(FilesEqual(src, dst));
}

TEST_F(AuthSystemTest, FaultInjectionNeedsAChunkserverThatEnabledIt) {
  TestCluster c(TestClusterConfig{.extra_yaml = "chunkservers: 3\n"});
  ASSERT_FALSE(c.info().is_null());
  // `strata up` enables it on its chunkservers: the holder of the secret may.
  auto on = c.Cli({"debug", "disk-fault", "--server", "cs1", "--disk", "0", "--latency-ms", "5"});
  EXPECT_EQ(on.exit_code, 0) << on.err;
  EXPECT_EQ(c.Cli({"debug", "disk-fault", "--server", "cs1", "--disk", "0", "--off"}).exit_code, 0);
  // A chunkserver started without --enable-fault-injection refuses, secret or not.
  const std::string disk = scratch_.Path("cs9disk");
  fs::create_directories(disk);
  pid_t cs9 = StartStrata({"chunkserver", "--id", "cs9", "--master", c.master(), "--secret-file", c.secret_file(),
                           "--rack", "rack9", "--port", "0", "--http-port", "0", "--disk", disk},
                          scratch_.Path("cs9.log"));
  ASSERT_TRUE(WaitFor(
      [&] {
        auto status = c.ClusterStatusJson();
        for (const auto& cs : status["chunkservers"]) {
          if (cs["id"] == "cs9" && cs.value("state", "") == "alive") return true;
        }
        return false;
      },
      30s));
  auto refused = c.Cli({"debug", "disk-fault", "--server", "cs9", "--disk", "0", "--error-rate", "1"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("fault injection is disabled"), std::string::npos) << refused.err;
  ::kill(cs9, SIGTERM);
  EXPECT_EQ(WaitExit(cs9), 0);
}

TEST_F(AuthSystemTest, BothCachePortsRefuseEveryCommandBeforeAuthentication) {
  TestCluster c(TestClusterConfig{.extra_yaml = "chunkservers: 3\n", .cache_yaml = "  password: sekret\n"});
  ASSERT_FALSE(c.info().is_null());
  const std::string resp = c.info()["cache"]["resp"].get<std::string>();
  const std::string memcache = c.info()["cache"]["memcache"].get<std::string>();

  TextClient r(resp);
  EXPECT_EQ(r.Send("PING\r\n"), "-NOAUTH Authentication required.\r\n");
  EXPECT_EQ(r.Send("SET k v\r\n"), "-NOAUTH Authentication required.\r\n");
  EXPECT_EQ(r.Send("GET k\r\n"), "-NOAUTH Authentication required.\r\n");
  EXPECT_EQ(r.Send("FLUSHALL\r\n"), "-NOAUTH Authentication required.\r\n");
  EXPECT_EQ(r.Send("AUTH wrong\r\n").substr(0, 10), "-WRONGPASS");
  EXPECT_EQ(r.Send(std::string("AUTH ") + kPassword + "\r\n"), "+OK\r\n");
  EXPECT_EQ(r.Send("PING\r\n"), "+PONG\r\n");
  EXPECT_EQ(r.Send("GET k\r\n"), "$-1\r\n");  // the refused SET stored nothing

  TextClient m(memcache);
  EXPECT_EQ(m.Send("get k\r\n"), "CLIENT_ERROR unauthenticated\r\n");
  EXPECT_EQ(m.Send("version\r\n"), "CLIENT_ERROR unauthenticated\r\n");
  EXPECT_EQ(m.Send("delete k\r\n"), "CLIENT_ERROR unauthenticated\r\n");
  EXPECT_EQ(m.Send("set x 0 0 10\r\nuser wrong\r\n"), "CLIENT_ERROR authentication failure\r\n");
  EXPECT_EQ(m.Send("set x 0 0 11\r\nuser sekret\r\n"), "STORED\r\n");
  EXPECT_EQ(m.Send("get x\r\n", "END\r\n"), "END\r\n");  // the auth set stores nothing
  EXPECT_EQ(m.Send("set k 0 0 1\r\nv\r\n"), "STORED\r\n");
  EXPECT_EQ(m.Send("get k\r\n", "END\r\n"), "VALUE k 0 1\r\nv\r\nEND\r\n");

  // redis-cli sees the same refusal as Redis gives.
  auto cli = RunCommand({"redis-cli", "-p", resp.substr(resp.rfind(':') + 1), "PING"});
  EXPECT_NE(cli.out.find("NOAUTH"), std::string::npos) << cli.out;
}

}  // namespace
}  // namespace strata::testing
