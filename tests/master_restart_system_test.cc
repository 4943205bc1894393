// A master restarted under a running cluster: writes started right after it
// comes back wait for the chunkservers to report in instead of failing, and
// the chunkservers that report late are not taken for dead (no recovery, no
// failure storm) while the master's startup grace period lasts.
#include <signal.h>

#include <cstdlib>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "testing/cluster.h"

namespace strata::testing {
namespace {

using namespace std::chrono_literals;

// The value of `name` in a Prometheus text page, or -1 when it is missing.
double MetricValue(const std::string& page, const std::string& name) {
  std::istringstream in(page);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::strtod(line.c_str() + name.size() + 1, nullptr);
  }
  return -1;
}

double ScrapeMetric(const std::string& http, const std::string& name) {
  auto r = RunCommand({"curl", "-s", "--max-time", "2", "http://" + http + "/metrics"});
  return r.exit_code == 0 ? MetricValue(r.out, name) : -1;
}

// With the master down, a chunkserver retries it with a doubling backoff
// (from the heartbeat interval, 300 ms here, up to 5 s): after five failed
// heartbeats its next try comes 4.8 s later, past this cluster's
// chunkserver_dead_after_ms (3 s). So once every chunkserver has failed five
// times, the restarted master hears from none of them for longer than the
// dead timeout. Within the startup grace period (10 s by default) they are
// not dead: the put started at once waits for them and succeeds, nothing is
// re-replicated and no failure storm is raised.
TEST(MasterRestartSystemTest, APutRightAfterARestartWaitsForLateChunkserversAndNothingIsRecovered) {
  TestCluster c;
  ASSERT_FALSE(c.info().is_null());
  ScratchDir scratch("strata_master_restart");
  const std::string before = scratch.Path("before"), src = scratch.Path("src"), dst = scratch.Path("dst");
  WriteRandomFile(before, 5ull << 20, 31);
  WriteRandomFile(src, 6ull << 20, 32);
  ASSERT_EQ(c.Cli({"fs", "put", before, "/before"}).exit_code, 0);

  c.Kill(c.info()["master_pid"].get<pid_t>(), SIGKILL);
  const std::string failures = "strata_chunkserver_heartbeat_failures_total";
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& cs : c.info()["chunkservers"]) {
      if (ScrapeMetric(cs["http"].get<std::string>(), failures) < 5) return false;
    }
    return true;
  }, 20s));
  c.RestartMaster();
  auto put = c.Cli({"fs", "put", src, "/after"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  ASSERT_EQ(c.Cli({"fs", "get", "/after", dst}).exit_code, 0);
  EXPECT_TRUE(FilesEqual(src, dst));

  // Every chunkserver is back (the put needed three of them), and none of
  // them was declared dead on the way.
  ASSERT_TRUE(WaitFor([&] {
    auto status = c.ClusterStatusJson();
    return !status.is_null() && !status.is_discarded() && status["totals"]["alive"] == c.chunkserver_count();
  }, 20s)) << c.ClusterStatusJson().dump(1);
  auto status = c.ClusterStatusJson();
  EXPECT_EQ(status["chunks"]["under_replicated"], 0) << status["chunks"].dump();
  EXPECT_EQ(status["chunks"]["lost"], 0) << status["chunks"].dump();
  EXPECT_EQ(status["recovery"]["storms"], 0) << status["recovery"].dump();
  EXPECT_EQ(status["recovery"]["queued"], 0) << status["recovery"].dump();
  EXPECT_EQ(status["recovery"]["in_flight"], 0) << status["recovery"].dump();
  EXPECT_EQ(status["recovery"]["done"], 0) << status["recovery"].dump();
  EXPECT_EQ(ScrapeMetric(c.info()["master_http"].get<std::string>(), "strata_master_chunkservers_died_total"), 0);
  for (const char* path : {"/before", "/after"}) {
    auto stat = c.StatJson(path);
    ASSERT_FALSE(stat.is_null()) << path;
    for (const auto& chunk : stat["chunk_list"]) EXPECT_EQ(chunk["replicas"].size(), 3u) << stat.dump(1);
  }
  ASSERT_EQ(c.Cli({"fs", "get", "/before", dst}).exit_code, 0);
  EXPECT_TRUE(FilesEqual(before, dst));
}

}  // namespace
}  // namespace strata::testing
