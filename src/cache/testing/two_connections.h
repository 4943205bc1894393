// TwoConnectionsTest: a gtest fixture with one in-process CacheCore and two
// RESP connections to it (A and B, handlers 1 and 2), for tests where what
// one client does must show, or not, on another (transactions, pub/sub).
//
// Thread-safety: one test thread, unless a test drives the handlers from
// threads of its own. Ownership: the fixture owns everything.
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cache/protocol/resp/resp_handler.h"
#include "cache/testing/test_core.h"

namespace strata::cache::testing {

class TwoConnectionsTest : public ::testing::Test {
 protected:
  TwoConnectionsTest() : table_(resp::BuildCommandTable()), a_(&t_.core, &table_, 1), b_(&t_.core, &table_, 2) {}
  // The reply bytes of one command on `h`.
  static std::string On(resp::RespHandler& h, const std::vector<std::string>& args) {
    std::string out;
    h.Process(Cmd(args), &out);
    return out;
  }
  std::string A(const std::vector<std::string>& args) { return On(a_, args); }
  std::string B(const std::vector<std::string>& args) { return On(b_, args); }

  TestCore t_;
  resp::CommandTable table_;
  resp::RespHandler a_;
  resp::RespHandler b_;
};

}  // namespace strata::cache::testing
