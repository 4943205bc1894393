// System tests of the dfs: a real cluster from `strata up`, driven by the
// `strata` CLI, with processes killed by SIGKILL and bytes corrupted on disk.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "common/subprocess.h"
#include "testing/cluster.h"

namespace strata::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class DfsSystemTest : public ::testing::Test {
 protected:
  std::string Tmp(const std::string& name) { return scratch_.Path(name); }
  ScratchDir scratch_{"strata_systest"};

  // Every chunk of `path` has `want` replicas, on distinct racks, none on `dead`.
  static bool FullyReplicated(const TestCluster& c, const std::string& path, size_t want,
                              const std::string& dead = "") {
    return ChunksFullyReplicated(c.StatJson(path), want,
                                 [&](const nlohmann::json& r) { return r["server_id"] == dead; });
  }
};

TEST_F(DfsSystemTest, PutGetRoundTrip100MiB) {
  TestCluster c;
  ASSERT_FALSE(c.info().is_null());
  std::string src = Tmp("src"), dst = Tmp("dst");
  WriteRandomFile(src, 100ull << 20, 1);
  ASSERT_EQ(c.Cli({"fs", "mkdir", "/data"}).exit_code, 0);
  auto put = c.Cli({"fs", "put", src, "/data/big"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  auto get = c.Cli({"fs", "get", "/data/big", dst});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_TRUE(FilesEqual(src, dst));

  auto st = c.StatJson("/data/big");
  ASSERT_FALSE(st.is_null());
  EXPECT_EQ(st["size"].get<uint64_t>(), 100ull << 20);
  EXPECT_EQ(st["chunk_list"].size(), 25u);  // 4 MiB chunks in the test config
  for (const auto& ch : st["chunk_list"]) {
    EXPECT_TRUE(ch["sealed"].get<bool>());
    std::set<std::string> racks, servers;
    for (const auto& r : ch["replicas"]) {
      EXPECT_FALSE(r["addr"].get<std::string>().empty());
      EXPECT_TRUE(r.contains("disk"));
      racks.insert(r["rack"].get<std::string>());
      servers.insert(r["server_id"].get<std::string>());
    }
    EXPECT_EQ(racks.size(), 3u) << ch.dump();
    EXPECT_EQ(servers.size(), 3u);
  }
  auto ls = c.Cli({"fs", "ls", "-l", "/data"});
  EXPECT_EQ(ls.exit_code, 0);
  EXPECT_NE(ls.out.find("104857600"), std::string::npos) << ls.out;
}

TEST_F(DfsSystemTest, NamespaceOperationsAndErrors) {
  TestCluster c;
  ASSERT_FALSE(c.info().is_null());
  std::string src = Tmp("small");
  WriteRandomFile(src, 12345, 2);
  EXPECT_EQ(c.Cli({"fs", "mkdir", "-p", "/a/b/c"}).exit_code, 0);
  EXPECT_EQ(c.Cli({"fs", "put", src, "/a/b/c/f"}).exit_code, 0);
  EXPECT_EQ(c.Cli({"fs", "mv", "/a/b", "/a/x"}).exit_code, 0);
  auto cat = c.Cli({"fs", "cat", "/a/x/c/f"});
  ASSERT_EQ(cat.exit_code, 0) << cat.err;
  std::ifstream in(src, std::ios::binary);
  std::string expected((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(cat.out, expected);
  // Errors are clear and change nothing.
  auto missing = c.Cli({"fs", "cat", "/nope"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("NotFound"), std::string::npos) << missing.err;
  EXPECT_NE(c.Cli({"fs", "put", src, "/a/x/c/f"}).exit_code, 0);  // exists, no --overwrite
  EXPECT_NE(c.Cli({"fs", "mkdir", "relative"}).exit_code, 0);
  EXPECT_NE(c.Cli({"fs", "put", Tmp("no-such-local-file"), "/z"}).exit_code, 0);
  EXPECT_NE(c.Cli({"fs", "rm", "/a"}).exit_code, 0);  // not empty without -r
  EXPECT_EQ(c.Cli({"fs", "rm", "-r", "/a"}).exit_code, 0);
  // An address that is not the master: a clear error, and nothing changes
  // on the server that was named.
  std::string cs_addr = c.info()["chunkservers"][0]["addr"].get<std::string>();
  auto wrong = RunStrata({"fs", "mkdir", "/zz", "--master", cs_addr, "--dir", c.dir()});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.err.find("is not a Strata master"), std::string::npos) << wrong.err;
  EXPECT_NE(c.Cli({"fs", "stat", "/zz"}).exit_code, 0);
  std::string http_addr = c.info()["chunkservers"][0]["http"].get<std::string>();  // not Strata RPC at all
  auto not_rpc = RunStrata({"fs", "ls", "/", "--master", http_addr, "--dir", c.dir()});
  EXPECT_NE(not_rpc.exit_code, 0);
  EXPECT_NE(not_rpc.err.find("is not a Strata master"), std::string::npos) << not_rpc.err;
  // --json everywhere: a result object, errors as an object on stderr.
  auto made = c.Cli({"fs", "mkdir", "/j", "--json"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_EQ(nlohmann::json::parse(made.out)["ok"], true) << made.out;
  auto missing_json = c.Cli({"fs", "cat", "/nope", "--json"});
  EXPECT_NE(missing_json.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(missing_json.err)["error"]["code"], "NotFound") << missing_json.err;
  EXPECT_EQ(c.Cli({"fs", "rm", "/j"}).exit_code, 0);
  // Several paths: cat concatenates; rm goes on past a failure and reports it.
  ASSERT_EQ(c.Cli({"fs", "put", src, "/m1"}).exit_code, 0);
  ASSERT_EQ(c.Cli({"fs", "put", src, "/m2"}).exit_code, 0);
  auto both = c.Cli({"fs", "cat", "/m1", "/m2"});
  EXPECT_EQ(both.out, expected + expected);
  auto rm_some = c.Cli({"fs", "rm", "/m1", "/nope", "/m2"});
  EXPECT_NE(rm_some.exit_code, 0);
  EXPECT_NE(rm_some.err.find("/nope"), std::string::npos) << rm_some.err;
  EXPECT_NE(c.Cli({"fs", "stat", "/m1"}).exit_code, 0);
  EXPECT_NE(c.Cli({"fs", "stat", "/m2"}).exit_code, 0);
  // mkdir where a file is: it exists.
  ASSERT_EQ(c.Cli({"fs", "put", src, "/m3"}).exit_code, 0);
  auto mkdir_file = c.Cli({"fs", "mkdir", "/m3"});
  EXPECT_NE(mkdir_file.err.find("exists (a file)"), std::string::npos) << mkdir_file.err;
  EXPECT_EQ(c.Cli({"fs", "rm", "/m3"}).exit_code, 0);
  // Names that are not text: refused with the reason, nothing created.
  auto bad_utf8 = c.Cli({"fs", "mkdir", "/bad\xff\xfeutf"});
  EXPECT_NE(bad_utf8.exit_code, 0);
  EXPECT_NE(bad_utf8.err.find("not valid UTF-8"), std::string::npos) << bad_utf8.err;
  EXPECT_EQ(bad_utf8.err.find("libprotobuf"), std::string::npos) << bad_utf8.err;
  auto newline = c.Cli({"fs", "mkdir", "/two\nlines"});
  EXPECT_NE(newline.err.find("control character"), std::string::npos) << newline.err;
  auto ls = c.Cli({"fs", "ls", "--json", "/"});
  ASSERT_EQ(ls.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(ls.out).size(), 0u) << ls.out;
}

// A put is all or nothing: a failed or interrupted one leaves no partial
// file and leaves the file it was to replace as it was.
TEST_F(DfsSystemTest, FailedOrInterruptedPutChangesNothing) {
  TestCluster c;
  ASSERT_FALSE(c.info().is_null());
  std::string src = Tmp("src");
  WriteRandomFile(src, 100000, 4);
  ASSERT_EQ(c.Cli({"fs", "mkdir", "/d"}).exit_code, 0);
  ASSERT_EQ(c.Cli({"fs", "put", src, "/d/keep"}).exit_code, 0);
  auto entries = [&] {
    auto ls = c.Cli({"fs", "ls", "--json", "/d"});
    std::vector<std::string> names;
    for (const auto& e : nlohmann::json::parse(ls.out)) names.push_back(e["path"].get<std::string>());
    return names;
  };
  auto unchanged = [&] {
    auto cat = c.Cli({"fs", "cat", "/d/keep"});
    std::ifstream in(src, std::ios::binary);
    return cat.exit_code == 0 && cat.out == std::string((std::istreambuf_iterator<char>(in)), {});
  };
  // A local directory, a replica count the cluster cannot place, an existing
  // target without -f: clear errors, nothing created or replaced.
  auto dir = c.Cli({"fs", "put", "-f", fs::temp_directory_path().string(), "/d/keep"});
  EXPECT_NE(dir.exit_code, 0);
  EXPECT_NE(dir.err.find("is a directory"), std::string::npos) << dir.err;
  EXPECT_NE(c.Cli({"fs", "put", "--replication", "7", src, "/d/r7"}).exit_code, 0);
  auto exists = c.Cli({"fs", "put", src, "/d/keep"});
  EXPECT_NE(exists.err.find("use -f"), std::string::npos) << exists.err;
  EXPECT_TRUE(unchanged());
  EXPECT_EQ(entries(), (std::vector<std::string>{"/d/keep"}));
  // An overwrite interrupted half way (SIGINT while it reads a pipe).
  std::string fifo = Tmp("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  pid_t put = StartStrata({"fs", "put", "-f", fifo, "/d/keep", "--master", c.master(),
                           "--secret-file", c.secret_file()}, Tmp("put.log"));
  int w = ::open(fifo.c_str(), O_WRONLY);
  ASSERT_GE(w, 0);
  std::string piece(1 << 20, 'x');
  ASSERT_EQ(::write(w, piece.data(), piece.size()), static_cast<ssize_t>(piece.size()));
  ::kill(put, SIGINT);
  EXPECT_NE(WaitExit(put), 0);
  ::close(w);
  EXPECT_TRUE(unchanged());
  EXPECT_EQ(entries(), (std::vector<std::string>{"/d/keep"}));
  // mv: never replaces without -f; into a directory like mv(1).
  std::string src2 = Tmp("src2");
  WriteRandomFile(src2, 5000, 9);
  ASSERT_EQ(c.Cli({"fs", "put", src2, "/d/other"}).exit_code, 0);
  EXPECT_NE(c.Cli({"fs", "mv", "/d/other", "/d/keep"}).exit_code, 0);
  EXPECT_TRUE(unchanged());
  ASSERT_EQ(c.Cli({"fs", "mkdir", "/e"}).exit_code, 0);
  EXPECT_EQ(c.Cli({"fs", "mv", "/d/other", "/e"}).exit_code, 0);
  EXPECT_EQ(c.Cli({"fs", "stat", "/e/other"}).exit_code, 0);
  EXPECT_EQ(c.Cli({"fs", "mv", "-f", "/e/other", "/d/keep"}).exit_code, 0);
  EXPECT_FALSE(unchanged());  // now src2's bytes
  EXPECT_NE(c.Cli({"fs", "stat", "/e/other"}).exit_code, 0);
  // put into a directory keeps the local name, like cp; under a file it
  // fails plainly (nothing was created, nothing to clean up).
  ASSERT_EQ(c.Cli({"fs", "put", src, "/e"}).exit_code, 0);
  EXPECT_EQ(c.Cli({"fs", "stat", "/e/" + fs::path(src).filename().string()}).exit_code, 0);
  auto under_file = c.Cli({"fs", "put", src, "/d/keep/x"});
  EXPECT_NE(under_file.exit_code, 0);
  EXPECT_NE(under_file.err.find("not a directory"), std::string::npos) << under_file.err;
  EXPECT_EQ(under_file.err.find("warning"), std::string::npos) << under_file.err;
}

// A TCP connection to host:port, or -1.
int ConnectTcp(const std::string& endpoint) {
  auto colon = endpoint.rfind(':');
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(endpoint.substr(colon + 1))));
  ::inet_pton(AF_INET, endpoint.substr(0, colon).c_str(), &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// The value of one counter line of a role's /metrics ("name{labels}"), or -1.
double MetricValue(const std::string& endpoint, const std::string& series) {
  int fd = ConnectTcp(endpoint);
  if (fd < 0) return -1;
  std::string req = "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n", body;
  if (::write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return -1;
  }
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) body.append(buf, static_cast<size_t>(n));
  ::close(fd);
  size_t at = body.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(body.substr(at + series.size() + 2));
}

// A writer that waits on its input longer than the lease keeps its file: it
// renews the lease meanwhile.
TEST_F(DfsSystemTest, AWriterWaitingLongerThanTheLeaseRenewsIt) {
  TestClusterConfig cfg;
  cfg.master_yaml = "  writer_lease_ms: 2000\n";
  TestCluster c(cfg);
  ASSERT_FALSE(c.info().is_null());
  std::string fifo = Tmp("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  pid_t put = StartStrata({"fs", "put", fifo, "/slow", "--master", c.master(),
                           "--secret-file", c.secret_file()}, Tmp("put.log"));
  int w = ::open(fifo.c_str(), O_WRONLY);
  ASSERT_GE(w, 0);
  std::string first(100000, 'a'), second(50000, 'b');
  ASSERT_EQ(::write(w, first.data(), first.size()), static_cast<ssize_t>(first.size()));
  // Four renewals (one per third of the lease) span more than the lease.
  const std::string renewals = "strata_rpc_server_calls_total{method=\"renew_lease\"}";
  EXPECT_TRUE(WaitFor([&] { return MetricValue(c.info()["master_http"].get<std::string>(), renewals) >= 4; }, 30s));
  ASSERT_EQ(::write(w, second.data(), second.size()), static_cast<ssize_t>(second.size()));
  ::close(w);
  EXPECT_EQ(WaitExit(put), 0);
  auto cat = c.Cli({"fs", "cat", "/slow"});
  ASSERT_EQ(cat.exit_code, 0) << cat.err;
  EXPECT_EQ(cat.out, first + second);
  EXPECT_EQ(MetricValue(c.info()["master_http"].get<std::string>(), "strata_master_writer_leases_expired_total"), 0);
}

// A put killed with SIGKILL leaves its hidden temporary file, with an open
// chunk. Nobody will rename it into place, so once the writer's lease runs
// out the master removes it and its replicas are deleted.
TEST_F(DfsSystemTest, APutKilledMidWayHasItsTemporaryFileRemovedWhenItsLeaseRunsOut) {
  TestClusterConfig cfg;
  cfg.master_yaml = "  writer_lease_ms: 2000\n";
  TestCluster c(cfg);
  ASSERT_FALSE(c.info().is_null());
  ASSERT_EQ(c.Cli({"fs", "mkdir", "/w"}).exit_code, 0);
  // Fed through a pipe, so the put is surely still running when it is killed.
  std::string fifo = Tmp("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  pid_t put = StartStrata({"fs", "put", "--append-size", "64K", "--window", "0", fifo, "/w/f", "--master", c.master(),
                           "--secret-file", c.secret_file()},
                          Tmp("put.log"));
  int w = ::open(fifo.c_str(), O_WRONLY);
  ASSERT_GE(w, 0);
  std::string data(1 << 20, 'x');
  ASSERT_EQ(::write(w, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  std::string temp;
  uint64_t chunk_id = 0;
  ASSERT_TRUE(WaitFor([&] {
    auto ls = c.Cli({"fs", "ls", "--json", "/w"});
    auto j = nlohmann::json::parse(ls.out, nullptr, false);
    // Some data acknowledged (the master knows lengths from heartbeats).
    if (j.is_discarded() || j.size() != 1 || j[0].value("size", uint64_t{0}) == 0) return false;
    temp = j[0]["path"].get<std::string>();
    return true;
  }, 30s));
  ::kill(put, SIGKILL);
  WaitExit(put);
  ::close(w);
  EXPECT_NE(temp.find("/w/.f.put-"), std::string::npos) << temp;
  auto st = c.StatJson(temp);
  ASSERT_FALSE(st.is_null() || st.is_discarded() || st["chunk_list"].empty()) << st;
  chunk_id = st["chunk_list"][0]["chunk_id"].get<uint64_t>();
  std::vector<std::string> replica_files;
  for (const auto& r : st["chunk_list"][0]["replicas"]) replica_files.push_back(c.ReplicaChunkPath(r, chunk_id));
  ASSERT_FALSE(replica_files.empty());
  EXPECT_TRUE(fs::exists(replica_files[0])) << replica_files[0];
  // Gone once the lease (2 s) has run out; the directory is empty.
  const std::string master_http = c.info()["master_http"].get<std::string>();
  EXPECT_TRUE(WaitFor([&] {
    auto ls = c.Cli({"fs", "ls", "--json", "/w"});
    auto j = nlohmann::json::parse(ls.out, nullptr, false);
    return ls.exit_code == 0 && !j.is_discarded() && j.empty();
  }, 30s)) << c.Cli({"fs", "ls", "-l", "/w"}).out;
  EXPECT_NE(c.Cli({"fs", "stat", temp}).exit_code, 0);
  EXPECT_NE(c.Cli({"fs", "stat", "/w/f"}).exit_code, 0);  // never renamed into place
  EXPECT_GE(MetricValue(master_http, "strata_master_writer_leases_expired_total"), 1);
  // Its replicas are deleted by the chunkservers.
  EXPECT_TRUE(WaitFor([&] {
    for (const auto& f : replica_files) {
      if (fs::exists(f)) return false;
    }
    return true;
  }, 30s));
}

// A put whose cluster dies under it (every process SIGKILLed) fails within
// its bound for an unreachable master (--master-retry-ms, 60 s by default)
// with a clear error: the seal that finds the master gone waits that long,
// and the removal of its temporary file afterwards does not wait again.
TEST_F(DfsSystemTest, APutWhoseWholeClusterDiesFailsWithinItsBound) {
  TestCluster c;
  ASSERT_FALSE(c.info().is_null());
  std::string fifo = Tmp("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  constexpr int kRetryMs = 4000;
  pid_t put = StartStrata({"fs", "put", "--append-size", "64K", "--window", "0", "--master-retry-ms",
                           std::to_string(kRetryMs), fifo, "/f", "--master", c.master(),
"--secret-file", c.secret_file()},
                          Tmp("put.log"));
  int w = ::open(fifo.c_str(), O_WRONLY);
  ASSERT_GE(w, 0);
  std::string data(256 << 10, 'x');
  ASSERT_EQ(::write(w, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ASSERT_TRUE(WaitFor([&] {
    auto st = c.StatJson(c.WrittenPath("/f"));
    return !st.is_null() && !st.is_discarded() && !st["chunk_list"].empty();
  }, 30s));
  c.Kill(c.info()["master_pid"].get<pid_t>(), SIGKILL);
  for (int i = 0; i < c.chunkserver_count(); ++i) c.Kill(c.chunkserver_pid(i), SIGKILL);
  auto killed = std::chrono::steady_clock::now();
  // More data (no more than the pipe holds): the writer finds its replicas
  // gone and must seal through the master, which is gone too.
  ::signal(SIGPIPE, SIG_IGN);
  (void)::write(w, data.data(), 64 << 10);
  ::close(w);
  int code = WaitExit(put);
  auto took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed).count();
  std::ifstream log(Tmp("put.log"));
  std::string text((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(code, 0) << text;
  EXPECT_NE(text.find("error: Unavailable"), std::string::npos) << text;
  EXPECT_NE(text.find("master " + c.master()), std::string::npos) << text;
  // One bound, not one per master call (the seal, then the removal).
  EXPECT_LT(took_ms, kRetryMs + 2500) << text;
}

TEST_F(DfsSystemTest, ChunkserverKilledMidPutThenReReplicated) {
  TestCluster c;
  ASSERT_FALSE(c.info().is_null());
  std::string src = Tmp("src"), dst = Tmp("dst");
  WriteRandomFile(src, 48ull << 20, 3);
  // Small appends so the put is still running when the chunkserver dies.
  pid_t put = StartStrata({"fs", "put", "--append-size", "256K", src, "/victim", "--master", c.master(),
                           "--secret-file", c.secret_file()}, Tmp("put.log"));
  // Wait until the file has a chunk, then kill a server holding its newest chunk.
  std::string victim = c.KillHolderOfNewestChunk("/victim", 0);
  ASSERT_FALSE(victim.empty());
  ASSERT_EQ(WaitExit(put), 0) << "put failed after a chunkserver was killed";
  auto get = c.Cli({"fs", "get", "/victim", dst});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_TRUE(FilesEqual(src, dst));
  // Once the server is declared dead, every chunk is back to 3 replicas on
  // 3 racks, none on the dead server.
  // Copies stay within the flow-control limit on every server meanwhile.
  uint64_t copies_seen_max = 0, copies_limit = 0;
  EXPECT_TRUE(WaitFor([&] {
    auto status = c.ClusterStatusJson();
    if (!status.is_null() && !status.is_discarded()) {
      copies_limit = status["recovery"]["copies_per_server_max"].get<uint64_t>();
      for (const auto& cs : status["chunkservers"]) {
        copies_seen_max = std::max(copies_seen_max, cs["copies_in_flight"].get<uint64_t>());
      }
    }
    return FullyReplicated(c, "/victim", 3, victim);
  }, 120s)) << c.StatJson("/victim").dump(1);
  EXPECT_GT(copies_limit, 0u);
  EXPECT_LE(copies_seen_max, copies_limit);
  auto status = c.ClusterStatusJson();
  ASSERT_FALSE(status.is_null());
  EXPECT_EQ(status["chunks"]["under_replicated"].get<int>(), 0) << status.dump(1);
  // The same, as a person reads it, once the master has declared the
  // victim dead (the chunks may have needed no copy if it died early).
  EXPECT_TRUE(WaitFor([&] {
    auto s = c.ClusterStatusJson();
    if (s.is_null() || s.is_discarded()) return false;
    for (const auto& cs : s["chunkservers"]) {
      if (cs["id"] == victim) return !cs["alive"].get<bool>();
    }
    return false;
  }, 30s));
  auto text = c.Cli({"cluster", "status"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("  " + victim + "  "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("  DEAD\n"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("5/6 chunkservers alive"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("under-replicated 0, lost 0,"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("\nrecovery: "), std::string::npos) << text.out;
}

// With a window, appends run ahead of their acknowledgement. With
// --min-copies 3, killing a replica holder leaves what was in flight without
// a quorum: the writer seals the chunk at the acknowledged length (possibly
// nothing, and the empty chunk leaves the file) and writes the rest again in
// a new chunk; nothing is lost or duplicated.
TEST_F(DfsSystemTest, WindowedPutThatLosesItsQuorumRewritesTheRestElsewhere) {
  TestCluster c;
  ASSERT_FALSE(c.info().is_null());
  std::string src = Tmp("src"), dst = Tmp("dst");
  WriteRandomFile(src, 64ull << 20, 5);
  pid_t put = StartStrata({"fs", "put", "--append-size", "128K", "--window", "2M", "--min-copies", "3", src,
                           "/windowed", "--master", c.master(), "--secret-file", c.secret_file()},
                          Tmp("put.log"));
  std::string victim = c.KillHolderOfNewestChunk("/windowed", 0);
  ASSERT_FALSE(victim.empty());
  ASSERT_EQ(WaitExit(put), 0) << "put failed after a chunkserver was killed";
  auto get = c.Cli({"fs", "get", "/windowed", dst});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_TRUE(FilesEqual(src, dst));
  // The writer saw the replica go (and so resealed with appends in flight).
  std::ifstream log(Tmp("put.log"));
  std::string text((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(text.find("dropping replica on " + victim), std::string::npos) << text;
}

TEST_F(DfsSystemTest, CorruptReplicaIsDetectedAndReplaced) {
  TestCluster c;
  ASSERT_FALSE(c.info().is_null());
  std::string src = Tmp("src"), dst = Tmp("dst");
  WriteRandomFile(src, 6ull << 20, 4);
  ASSERT_EQ(c.Cli({"fs", "put", src, "/precious"}).exit_code, 0);
  auto st = c.StatJson("/precious");
  ASSERT_FALSE(st.is_null());
  const auto& chunk = st["chunk_list"][0];
  uint64_t chunk_id = chunk["chunk_id"].get<uint64_t>();
  // Corrupt every replica a reader would try first, except the last: the
  // reader starts at replica (chunk_id % 3).
  const auto& bad = chunk["replicas"][chunk_id % 3];
  // Chunk byte k is byte 4096 + 4 MiB + k of <hex>.chunk (docs/chunk_format.md);
  // flip a data byte, not a checksum.
  std::string data_path = c.ReplicaChunkPath(bad, chunk_id);
  ASSERT_TRUE(fs::exists(data_path)) << data_path;
  const std::streamoff kFlipAt = 4096 + (4 << 20) + 5000;
  char original = 0;
  {
    std::fstream f(data_path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(kFlipAt);
    f.read(&original, 1);
    char flipped = static_cast<char>(original ^ 0x5a);
    f.seekp(kFlipAt);
    f.write(&flipped, 1);
  }
  // Every get is correct; the reader tries the corrupted replica first
  // unless the master marks it slow right now (then it reads another), so
  // repeat until one has met and reported the corruption.
  std::string last_err;
  EXPECT_TRUE(WaitFor([&] {
    auto get = c.Cli({"fs", "get", "/precious", dst});
    EXPECT_EQ(get.exit_code, 0) << get.err;
    EXPECT_TRUE(FilesEqual(src, dst));
    last_err = get.err;
    return get.err.find("corrupt") != std::string::npos;
  }, 30s)) << last_err;
  // The bad replica is replaced: the chunk has 3 replicas again and the
  // corrupted copy is gone (deleted, or rewritten by a fresh good copy).
  auto corrupted_copy_gone = [&] {
    std::ifstream f(data_path, std::ios::binary);
    if (!f) return true;
    f.seekg(kFlipAt);
    char now = 0;
    f.read(&now, 1);
    return f.gcount() == 1 && now == original;
  };
  EXPECT_TRUE(WaitFor([&] {
    auto s = c.StatJson("/precious");
    if (s.is_null() || s.is_discarded()) return false;
    return s["chunk_list"][0]["replicas"].size() == 3 && corrupted_copy_gone();
  }, 60s)) << c.StatJson("/precious").dump(1);
  auto again = c.Cli({"fs", "get", "/precious", dst});
  ASSERT_EQ(again.exit_code, 0);
  EXPECT_TRUE(FilesEqual(src, dst));
}

TEST_F(DfsSystemTest, MasterKilledAndRestartedKeepsNamespace) {
  TestCluster c;
  ASSERT_FALSE(c.info().is_null());
  std::string src = Tmp("src"), dst = Tmp("dst");
  WriteRandomFile(src, 9ull << 20, 5);
  ASSERT_EQ(c.Cli({"fs", "mkdir", "-p", "/keep/me"}).exit_code, 0);
  ASSERT_EQ(c.Cli({"fs", "put", src, "/keep/me/file"}).exit_code, 0);
  auto before = c.StatJson("/keep/me/file");
  c.Kill(c.info()["master_pid"].get<pid_t>(), SIGKILL);
  c.RestartMaster();
  auto after = c.StatJson("/keep/me/file");
  ASSERT_FALSE(after.is_null());
  EXPECT_EQ(after["size"], before["size"]);
  EXPECT_EQ(after["chunk_list"].size(), before["chunk_list"].size());
  for (size_t i = 0; i < before["chunk_list"].size(); ++i) {
    EXPECT_EQ(after["chunk_list"][i]["chunk_id"], before["chunk_list"][i]["chunk_id"]);
    EXPECT_EQ(after["chunk_list"][i]["length"], before["chunk_list"][i]["length"]);
  }
  // Chunkservers re-register; the data reads back.
  auto get = c.Cli({"fs", "get", "/keep/me/file", dst});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_TRUE(FilesEqual(src, dst));
}

TEST_F(DfsSystemTest, MasterKilledMidWriteNeverLosesSilently) {
  TestCluster c;
  ASSERT_FALSE(c.info().is_null());
  std::string src = Tmp("src"), dst = Tmp("dst");
  WriteRandomFile(src, 40ull << 20, 6);
  pid_t put = StartStrata({"fs", "put", "--append-size", "256K", src, "/midwrite", "--master", c.master(),
                           "--secret-file", c.secret_file()},
                          Tmp("put.log"));
  ASSERT_TRUE(WaitFor([&] {
    auto st = c.StatJson(c.WrittenPath("/midwrite"));
    return !st.is_null() && !st.is_discarded() && !st["chunk_list"].empty();
  }, 30s));
  c.Kill(c.info()["master_pid"].get<pid_t>(), SIGKILL);
  c.RestartMaster();
  int code = WaitExit(put);
  if (code == 0) {
    // It finished: every byte is there.
    ASSERT_EQ(c.Cli({"fs", "get", "/midwrite", dst}).exit_code, 0);
    EXPECT_TRUE(FilesEqual(src, dst));
  } else {
    // It failed: it said so, and what the master has is a prefix of the data.
    std::ifstream log(Tmp("put.log"));
    std::string text((std::istreambuf_iterator<char>(log)), {});
    EXPECT_NE(text.find("error:"), std::string::npos) << text;
  }
}

TEST_F(DfsSystemTest, UnwritableDiskIsMarkedFailedAndAvoided) {
  TestCluster c;
  ASSERT_FALSE(c.info().is_null());
  // Replace cs1's first disk directory by a plain file: every write there fails.
  std::string disk = c.info()["chunkservers"][0]["disks"][0].get<std::string>();
  fs::rename(disk, disk + ".gone");
  { std::ofstream blocker(disk); }
  std::string src = Tmp("src"), dst = Tmp("dst");
  WriteRandomFile(src, 30ull << 20, 7);
  auto put = c.Cli({"fs", "put", src, "/spread"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  ASSERT_EQ(c.Cli({"fs", "get", "/spread", dst}).exit_code, 0);
  EXPECT_TRUE(FilesEqual(src, dst));
  // The disk shows as failed in cluster status, and holds no chunk of the file.
  EXPECT_TRUE(WaitFor([&] {
    auto d = c.DiskStatus("cs1", 0);
    return !d.is_null() && d["failed"] == true;
  }, 30s)) << c.ClusterStatusJson().dump(1);
  // The master's chunk map converges (through replica reports) to 3 replicas
  // per chunk with none on the failed disk.
  EXPECT_TRUE(WaitFor([&] {
    auto st = c.StatJson("/spread");
    if (st.is_null() || st.is_discarded()) return false;
    for (const auto& ch : st["chunk_list"]) {
      if (ch["replicas"].size() != 3) return false;
      for (const auto& r : ch["replicas"]) {
        if (r["server_id"] == "cs1" && r["disk"] == 0) return false;
      }
    }
    return true;
  }, 60s)) << c.StatJson("/spread").dump(1);
}

// Mounts a small tmpfs over a directory for the lifetime of the object
// (a disk that fills up for real); unmounted lazily so open files do not
// block it.
class SmallDisk {
 public:
  SmallDisk(const std::string& dir, const std::string& size) : dir_(dir) {
    std::string cmd = "mount -t tmpfs -o size=" + size + " strata-test " + dir + " 2>/dev/null";
    mounted_ = std::system(cmd.c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted_) (void)std::system(("umount -l " + dir_).c_str());
  }
  bool mounted() const { return mounted_; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

// EIO on every call of one disk: its replicas stop counting at once and are
// copied to other servers (never back onto the one with the failed disk,
// whose old files would answer for the copy), each chunk once. Through
// several full replica reports afterwards nothing is copied again.
TEST_F(DfsSystemTest, AFailedDisksReplicasAreReplacedOnceOnOtherServers) {
  TestClusterConfig cfg;
  cfg.master_yaml = "  heartbeat_interval_ms: 200\n";
  cfg.chunkserver_yaml = "  full_report_every: 3\n";
  TestCluster c(cfg);
  ASSERT_FALSE(c.info().is_null());
  std::string src = Tmp("src"), dst = Tmp("dst");
  WriteRandomFile(src, 4ull << 20, 21);
  ASSERT_EQ(c.Cli({"fs", "put", "--chunk-size", "1M", src, "/d"}).exit_code, 0);
  const nlohmann::json before = c.StatJson("/d");
  const auto& replica = before["chunk_list"][0]["replicas"][0];
  const std::string server = replica["server_id"].get<std::string>();
  const int disk = replica["disk"].get<int>();
  int held = 0;
  for (const auto& ch : before["chunk_list"]) {
    for (const auto& r : ch["replicas"]) held += r["server_id"] == server && r["disk"].get<int>() == disk;
  }
  ASSERT_GE(held, 1);
  ASSERT_EQ(c.Cli({"debug", "disk-fault", "--server", server, "--disk", std::to_string(disk), "--error-rate", "1"})
                .exit_code,
            0);
  auto on_other_servers = [&] {
    auto st = c.StatJson("/d");
    if (!ChunksFullyReplicated(st, 3)) return false;
    for (size_t i = 0; i < st["chunk_list"].size(); ++i) {
      const auto& was = before["chunk_list"][i]["replicas"];
      bool was_on_disk = std::any_of(was.begin(), was.end(), [&](const nlohmann::json& r) {
        return r["server_id"] == server && r["disk"].get<int>() == disk;
      });
      for (const auto& r : st["chunk_list"][i]["replicas"]) {
        if (was_on_disk && r["server_id"] == server) return false;  // nor its other disk
      }
    }
    return c.ClusterStatusJson()["chunks"]["under_replicated"] == 0;
  };
  EXPECT_TRUE(WaitFor(on_other_servers, 60s)) << c.StatJson("/d").dump(1) << c.ClusterStatusJson()["recovery"].dump();
  EXPECT_EQ(c.ClusterStatusJson()["recovery"]["done"].get<int>(), held);
  // Every server sends three more full reports (6 servers x 9 heartbeats).
  const std::string master_http = c.info()["master_http"].get<std::string>();
  const std::string beats = "strata_rpc_server_calls_total{method=\"heartbeat\"}";
  const double start = MetricValue(master_http, beats);
  ASSERT_GT(start, 0);
  EXPECT_TRUE(WaitFor([&] { return MetricValue(master_http, beats) >= start + 6 * 9; }, 30s));
  EXPECT_TRUE(on_other_servers()) << c.StatJson("/d").dump(1);
  EXPECT_EQ(c.ClusterStatusJson()["recovery"]["done"].get<int>(), held) << c.ClusterStatusJson()["recovery"].dump();
  ASSERT_EQ(c.Cli({"fs", "get", "/d", dst}).exit_code, 0);
  EXPECT_TRUE(FilesEqual(src, dst));
}

// Each chunk of `st` has exactly `want` replicas.
bool ExactlyReplicated(const nlohmann::json& st, size_t want) {
  if (!st.contains("chunk_list")) return false;
  for (const auto& ch : st["chunk_list"]) {
    if (ch["replicas"].size() != want) return false;
  }
  return true;
}

TEST_F(DfsSystemTest, AFailedDiskComesBackOnlyWhenItIsGoodAgainByItselfOrByTheOperator) {
  TestClusterConfig cfg;
  cfg.master_yaml = "  heartbeat_interval_ms: 200\n";
  // cs1 waits for the operator; every other chunkserver returns its disks
  // after 3 passing probes, 100 ms apart.
  cfg.chunkserver_yaml = "  full_report_every: 3\n  disk_probe_interval_ms: 100\n";
  TestCluster c(cfg);
  ASSERT_FALSE(c.info().is_null());
  std::string src = Tmp("src"), dst = Tmp("dst");
  WriteRandomFile(src, 3ull << 20, 33);
  ASSERT_EQ(c.Cli({"fs", "put", "--chunk-size", "1M", src, "/d"}).exit_code, 0);
  const nlohmann::json replica = c.StatJson("/d")["chunk_list"][0]["replicas"][0];
  const std::string server = replica["server_id"].get<std::string>();
  const std::string disk = std::to_string(replica["disk"].get<int>());
  auto failed = [&] {
    auto d = c.DiskStatus(server, std::stoi(disk));
    return !d.is_null() && d["failed"] == true;
  };

  // Failing, the disk is replaced; the operator cannot bring it back.
  ASSERT_EQ(c.Cli({"debug", "disk-fault", "--server", server, "--disk", disk, "--error-rate", "1"}).exit_code, 0);
  ASSERT_TRUE(WaitFor(failed, 30s)) << c.ClusterStatusJson().dump(1);
  ASSERT_TRUE(WaitFor([&] { return c.ClusterStatusJson()["chunks"]["under_replicated"] == 0; }, 60s));
  auto refused = c.Cli({"cluster", "disk", server, disk, "--online"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("still fails"), std::string::npos) << refused.err;
  EXPECT_TRUE(failed());
  auto shown = c.Cli({"cluster", "disk", server, disk});
  EXPECT_EQ(shown.exit_code, 0);
  EXPECT_NE(shown.out.find("FAILED"), std::string::npos) << shown.out;

  // Lifted, it returns by itself after its probes pass; the surplus copies
  // go and every chunk has 3 replicas again.
  ASSERT_EQ(c.Cli({"debug", "disk-fault", "--server", server, "--disk", disk, "--off"}).exit_code, 0);
  EXPECT_TRUE(WaitFor([&] { return !failed(); }, 30s)) << c.DiskStatus(server, std::stoi(disk)).dump();
  EXPECT_TRUE(WaitFor([&] { return ExactlyReplicated(c.StatJson("/d"), 3); }, 60s)) << c.StatJson("/d").dump(1);
  EXPECT_EQ(c.ClusterStatusJson()["chunks"]["under_replicated"], 0);
  EXPECT_EQ(c.ClusterStatusJson()["chunks"]["lost"], 0);

  // A healthy disk: --online changes nothing and says so.
  auto again = c.Cli({"cluster", "disk", server, disk, "--online", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(nlohmann::json::parse(again.out)["was_failed"], false) << again.out;
  EXPECT_NE(c.Cli({"cluster", "disk", server, "9", "--online"}).exit_code, 0);
  EXPECT_NE(c.Cli({"cluster", "disk", "cs99", disk, "--online"}).exit_code, 0);
  ASSERT_EQ(c.Cli({"fs", "get", "/d", dst}).exit_code, 0);
  EXPECT_TRUE(FilesEqual(src, dst));
}

TEST_F(DfsSystemTest, AFailedDiskWaitsForTheOperatorWhenAutomaticReturnIsOff) {
  TestClusterConfig cfg;
  cfg.master_yaml = "  heartbeat_interval_ms: 200\n";
  cfg.chunkserver_yaml = "  full_report_every: 3\n  disk_probe_interval_ms: 100\n  disk_online_probes: 0\n";
  TestCluster c(cfg);
  ASSERT_FALSE(c.info().is_null());
  std::string src = Tmp("src"), dst = Tmp("dst");
  WriteRandomFile(src, 2ull << 20, 34);
  ASSERT_EQ(c.Cli({"fs", "put", "--chunk-size", "1M", src, "/d"}).exit_code, 0);
  const nlohmann::json replica = c.StatJson("/d")["chunk_list"][0]["replicas"][0];
  const std::string server = replica["server_id"].get<std::string>();
  const int disk = replica["disk"].get<int>();
  auto failed = [&] {
    auto d = c.DiskStatus(server, disk);
    return !d.is_null() && d["failed"] == true;
  };
  ASSERT_EQ(c.Cli({"debug", "disk-fault", "--server", server, "--disk", std::to_string(disk), "--error-rate", "1"})
                .exit_code,
            0);
  ASSERT_TRUE(WaitFor(failed, 30s));
  ASSERT_TRUE(WaitFor([&] { return c.ClusterStatusJson()["chunks"]["under_replicated"] == 0; }, 60s));
  ASSERT_EQ(c.Cli({"debug", "disk-fault", "--server", server, "--disk", std::to_string(disk), "--off"}).exit_code, 0);
  // 30 probes pass, and the disk stays failed.
  std::string cs_http;
  const nlohmann::json status = c.ClusterStatusJson();
  for (const auto& cs : status["chunkservers"]) {
    if (cs["id"] == server) cs_http = cs["http_addr"].get<std::string>();
  }
  const std::string probes = "strata_chunkserver_disk_probes_total";
  const double start = MetricValue(cs_http, probes);
  ASSERT_TRUE(WaitFor([&] { return MetricValue(cs_http, probes) >= start + 30; }, 30s));
  EXPECT_TRUE(failed());
  auto online = c.Cli({"cluster", "disk", server, std::to_string(disk), "--online"});
  ASSERT_EQ(online.exit_code, 0) << online.err;
  EXPECT_NE(online.out.find("back in service"), std::string::npos) << online.out;
  EXPECT_TRUE(WaitFor([&] { return !failed(); }, 10s));
  EXPECT_TRUE(WaitFor([&] { return ExactlyReplicated(c.StatJson("/d"), 3); }, 60s)) << c.StatJson("/d").dump(1);
  ASSERT_EQ(c.Cli({"fs", "get", "/d", dst}).exit_code, 0);
  EXPECT_TRUE(FilesEqual(src, dst));
}

TEST_F(DfsSystemTest, FullDiskIsMarkedFailedAndWritesGoElsewhere) {
  TestCluster c;
  ASSERT_FALSE(c.info().is_null());
  std::string disk = c.info()["chunkservers"][0]["disks"][0].get<std::string>();
  SmallDisk small(disk, "6M");
  if (!small.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root and mount permission)";
  fs::create_directories(disk + "/chunks");
  // Something else fills the disk to the last byte.
  (void)std::system(("dd if=/dev/zero of=" + disk + "/filler bs=64K 2>/dev/null").c_str());
  std::string src = Tmp("src"), dst = Tmp("dst");
  WriteRandomFile(src, 40ull << 20, 10);
  auto put = c.Cli({"fs", "put", "--append-size", "1M", src, "/fills"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  ASSERT_EQ(c.Cli({"fs", "get", "/fills", dst}).exit_code, 0);
  EXPECT_TRUE(FilesEqual(src, dst));
  // The full disk shows as failed, and the file has 3 replicas elsewhere.
  EXPECT_TRUE(WaitFor([&] {
    auto d = c.DiskStatus("cs1", 0);
    return !d.is_null() && d["failed"] == true;
  }, 30s)) << c.ClusterStatusJson().dump(1);
  EXPECT_TRUE(WaitFor([&] { return FullyReplicated(c, "/fills", 3); }, 60s)) << c.StatJson("/fills").dump(1);
}

// Sends `bytes` to host:port and closes.
void SendGarbage(const std::string& endpoint, const std::string& bytes) {
  int fd = ConnectTcp(endpoint);
  ASSERT_GE(fd, 0) << endpoint;
  ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

TEST_F(DfsSystemTest, GarbageOnRpcAndHttpPortsIsSurvived) {
  TestCluster c;
  ASSERT_FALSE(c.info().is_null());
  std::string junk(4096, '\0');
  for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 7919) & 0xff);
  SendGarbage(c.master(), junk);
  SendGarbage(c.info()["master_http"].get<std::string>(), junk);
  SendGarbage(c.info()["chunkservers"][0]["addr"].get<std::string>(), junk);
  SendGarbage(c.info()["chunkservers"][0]["http"].get<std::string>(), "GET /\x01\x02 HTTP/9\r\n\r\n" + junk);
  // Everyone still serves the next client.
  std::string src = Tmp("src"), dst = Tmp("dst");
  WriteRandomFile(src, 1 << 20, 8);
  ASSERT_EQ(c.Cli({"fs", "put", src, "/after-garbage"}).exit_code, 0);
  ASSERT_EQ(c.Cli({"fs", "get", "/after-garbage", dst}).exit_code, 0);
  EXPECT_TRUE(FilesEqual(src, dst));
  EXPECT_TRUE(ProcessAlive(c.info()["master_pid"].get<pid_t>()));
  EXPECT_TRUE(ProcessAlive(c.chunkserver_pid(0)));
}

TEST_F(DfsSystemTest, DownAndUpKeepEveryFile) {
  std::string src = Tmp("src"), dst = Tmp("dst");
  WriteRandomFile(src, 5ull << 20, 9);
  std::string dir;
  {
    TestCluster c;
    ASSERT_FALSE(c.info().is_null());
    ASSERT_EQ(c.Cli({"fs", "put", src, "/persist"}).exit_code, 0);
    dir = c.dir();
    ASSERT_EQ(RunStrata({"down", "--dir", dir}).exit_code, 0);
    auto up = RunStrata({"up", "--dir", dir, "--config", fs::path(dir).parent_path().string() + "/test-cluster.yaml",
                         "--detach"});
    ASSERT_EQ(up.exit_code, 0) << up.err;
    ASSERT_EQ(RunStrata({"fs", "get", "--dir", dir, "/persist", dst}).exit_code, 0);
    EXPECT_TRUE(FilesEqual(src, dst));
  }
}

TEST(CliTest, ClearErrorsWithoutACluster) {
  auto r = RunStrata({"fs", "ls", "/", "--master", "127.0.0.1:1"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("error:"), std::string::npos);
  auto unknown = RunStrata({"fs", "nosuch"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown command 'fs nosuch'"), std::string::npos) << unknown.err;
  auto bad_dir = RunStrata({"cluster", "status", "--dir", "/nonexistent-strata-dir"});
  EXPECT_NE(bad_dir.exit_code, 0);
  EXPECT_NE(bad_dir.err.find("cannot find the master"), std::string::npos) << bad_dir.err;
  std::string cfg = fs::temp_directory_path().string() + "/strata_bad_cfg.yaml";
  {
    std::ofstream out(cfg);
    out << "chunkservers: 3\nbogus_key: 1\n";
  }
  auto up = RunStrata({"up", "--dir", fs::temp_directory_path().string() + "/strata_never", "--config", cfg});
  EXPECT_EQ(up.exit_code, 2);
  EXPECT_NE(up.err.find("bogus_key"), std::string::npos) << up.err;
  fs::remove(cfg);
}

}  // namespace
}  // namespace strata::testing
