#include "dfs/client/dfs_client.h"

#include <gtest/gtest.h>

#include "dfs/client/closed_port_for_test.h"
#include "env/clock.h"

namespace strata::dfs {
namespace {

using testing::ClosedPort;

// Calls that follow each other while the master does not answer share one
// bound: the second one, made right after the first gave up, tries once and
// fails instead of waiting a whole bound again. Time is a ManualClock, which
// the client's waits between retries move.
TEST(DfsClientTest, CallsInOneOutageShareOneBound) {
  ManualClock clock;
  DfsClientOptions o;
  o.master = ClosedPort();
  o.master_first_contact_ms_max = 600;
  o.clock = &clock;
  DfsClient client(o);
  const uint64_t t0 = clock.NowMicros();
  auto st = client.Stat("/f");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(st.status().message().find("gave up after"), std::string::npos) << st.status().ToString();
  const uint64_t first_us = clock.NowMicros() - t0;
  EXPECT_GE(first_us, 300'000u);  // backoffs 50+100+200 ms, then 400 would pass the bound
  EXPECT_LE(first_us, 600'000u);
  const uint64_t t1 = clock.NowMicros();
  Status del = client.Delete("/f", false);
  EXPECT_EQ(del.code(), StatusCode::kUnavailable) << del.ToString();
  EXPECT_LT(clock.NowMicros() - t1, 250'000u) << del.ToString();  // what was left of the bound, not a new one
  // Once the outage is over (a quiet gap longer than the longest backoff),
  // a new call gets a whole bound again.
  clock.Advance(2'000'000);
  const uint64_t t2 = clock.NowMicros();
  EXPECT_FALSE(client.Stat("/g").ok());
  EXPECT_GE(clock.NowMicros() - t2, 300'000u);
}

}  // namespace
}  // namespace strata::dfs
