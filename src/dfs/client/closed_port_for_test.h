// ClosedPort: for the dfs client's unit tests, a local address nothing
// listens on, so that connections to it are refused at once.
//
// Thread-safety: any thread. Ownership: nothing held.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "common/subprocess.h"

namespace strata::dfs::testing {

inline std::string ClosedPort() {
  auto port = PickFreePort("127.0.0.1");
  EXPECT_TRUE(port.ok()) << port.status().ToString();
  return "127.0.0.1:" + std::to_string(port.value_or(1));
}

}  // namespace strata::dfs::testing
