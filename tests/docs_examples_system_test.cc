// The examples in the docs run as written: each fenced ```yaml block of
// docs/*.md and README.md is handed to the command it documents (a cluster
// config to `strata up --config`, a cache config to `strata cache --config`),
// and the cluster.json example names only keys a real cluster.json has. A
// YAML example in a page without a runner here fails the test, so a new
// example gets one.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "common/subprocess.h"
#include "testing/cluster.h"

#ifndef STRATA_SOURCE_DIR
#define STRATA_SOURCE_DIR "."
#endif

namespace strata::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Example {
  std::string page;  // e.g. "docs/local_cluster.md"
  int line = 0;      // of the opening fence
  std::string lang;  // the word after ```
  std::string text;
};

std::string SourceDir() {
  const char* env = std::getenv("STRATA_SOURCE_DIR");
  return env ? env : STRATA_SOURCE_DIR;
}

// The fenced blocks of one Markdown page.
std::vector<Example> FencedBlocks(const std::string& root, const std::string& page) {
  std::ifstream in(root + "/" + page);
  std::vector<Example> blocks;
  std::string line;
  bool inside = false;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.starts_with("```")) {
      if (!inside) blocks.push_back(Example{page, n, line.substr(3), ""});
      inside = !inside;
    } else if (inside) {
      blocks.back().text += line + "\n";
    }
  }
  return blocks;
}

std::vector<Example> AllBlocks() {
  std::string root = SourceDir();
  std::vector<std::string> pages = {"README.md"};
  for (const auto& e : fs::directory_iterator(root + "/docs")) {
    if (e.path().extension() == ".md") pages.push_back("docs/" + e.path().filename().string());
  }
  std::sort(pages.begin(), pages.end());
  std::vector<Example> all;
  for (const auto& page : pages) {
    auto blocks = FencedBlocks(root, page);
    all.insert(all.end(), blocks.begin(), blocks.end());
  }
  return all;
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

// Every key of `doc` (recursively through objects, and the first element of
// arrays) is in `real`; "..." stands for more keys.
void ExpectKeysIn(const nlohmann::json& doc, const nlohmann::json& real, const std::string& where) {
  if (doc.is_array() && !doc.empty() && real.is_array() && !real.empty()) {
    ExpectKeysIn(doc[0], real[0], where + "[0]");
    return;
  }
  if (!doc.is_object()) return;
  for (const auto& [key, value] : doc.items()) {
    if (key == "...") continue;
    if (!real.is_object() || !real.contains(key)) {
      ADD_FAILURE() << "the docs' cluster.json has " << where << "." << key << ", a real one does not: "
                    << real.dump();
      continue;
    }
    ExpectKeysIn(value, real[key], where + "." + key);
  }
}

// A cluster config: `strata up --config` starts a cluster from it.
void RunClusterConfig(const Example& e, const std::vector<Example>& all) {
  ScratchDir scratch("strata_docs_up");
  std::string config = scratch.Path("example.yaml"), dir = scratch.Path("cluster");
  WriteText(config, e.text);
  auto up = RunStrata({"up", "--dir", dir, "--config", config, "--detach"});
  nlohmann::json real;
  if (up.exit_code == 0) {
    std::ifstream in(dir + "/cluster.json");
    real = nlohmann::json::parse(in, nullptr, false);
  }
  if (fs::exists(dir + "/cluster.json")) (void)RunStrata({"down", "--dir", dir});
  ASSERT_EQ(up.exit_code, 0) << e.page << ":" << e.line << ": `strata up --config` of the example failed: " << up.err;
  // The cluster.json example of the same page describes what it wrote.
  for (const auto& j : all) {
    if (j.page != e.page || j.lang != "json") continue;
    auto doc = nlohmann::json::parse(j.text, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << j.page << ":" << j.line << ": the JSON example does not parse";
    ExpectKeysIn(doc, real, "cluster.json");
  }
}

// A cache config: `strata cache --config` serves with it (ports, memory and
// the data directory given as flags, which win over the file).
void RunCacheConfig(const Example& e) {
  ScratchDir scratch("strata_docs_cache");
  std::string config = scratch.Path("example.yaml"), log = scratch.Path("cache.log");
  WriteText(config, e.text);
  auto resp = PickFreePort("127.0.0.1"), mc = PickFreePort("127.0.0.1"), http = PickFreePort("127.0.0.1");
  ASSERT_TRUE(resp.ok() && mc.ok() && http.ok());
  pid_t pid = StartStrata({"cache", "--config", config, "--host", "127.0.0.1", "--port-resp", std::to_string(*resp),
                           "--port-memcache", std::to_string(*mc), "--http-port", std::to_string(*http), "--memory",
                           "64M", "--threads", "1", "--data-dir", scratch.Path("data")},
                          log);
  ASSERT_GT(pid, 0);
  bool serving = WaitFor([&] { return !ProcessAlive(pid) || PortAcceptsConnections("127.0.0.1", *resp); }, 30s) &&
                 ProcessAlive(pid);
  ::kill(pid, SIGTERM);
  int code = WaitExit(pid);
  std::ifstream in(log);
  std::string text(std::istreambuf_iterator<char>(in), {});
  EXPECT_TRUE(serving) << e.page << ":" << e.line << ": `strata cache --config` of the example did not serve: " << text;
  EXPECT_EQ(code, 0) << text;
}

TEST(DocsExamplesSystemTest, EveryYamlExampleRunsAsWritten) {
  auto all = AllBlocks();
  int ran = 0;
  for (const auto& e : all) {
    if (e.lang != "yaml") continue;
    SCOPED_TRACE(e.page + ":" + std::to_string(e.line));
    if (e.page == "docs/local_cluster.md") {
      RunClusterConfig(e, all);
    } else if (e.page == "docs/cache.md") {
      RunCacheConfig(e);
    } else {
      ADD_FAILURE() << e.page << ":" << e.line << ": a YAML example this test does not know how to run";
    }
    ++ran;
  }
  EXPECT_GE(ran, 2) << "the docs under " << SourceDir() << " were not found";
}

}  // namespace
}  // namespace strata::testing
