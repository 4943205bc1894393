// `strata cache`: runs one cache server (memcached + RESP) until SIGTERM/SIGINT.
#include <signal.h>

#include <iostream>

#include "cache/server/cache_server.h"
#include "cli/commands.h"
#include "common/config.h"
#include "common/logging.h"

namespace strata::cli {

namespace {

struct CacheFlags {
  cache::CacheOptions opt;
  std::string memory = "256M";
  std::string max_value = "64M";
  std::string config;
  std::string log_level = "info";
  std::string log_file;
  std::vector<std::string> namespaces;
};

// Reads the settings of one config mapping (same names as the flags, with
// underscores); flags given on the command line win.
Status ApplyConfig(ConfigNode& n, CacheFlags* f, CLI::App* cmd) {
  auto given = [&](const char* flag) { return cmd->count(flag) > 0; };
  int64_t v;
  if (n.Has("host") && !given("--host")) RETURN_IF_ERROR(n.GetString("host", &f->opt.host));
  if (n.Has("port_resp") && !given("--port-resp")) { RETURN_IF_ERROR(n.GetInt("port_resp", &v)); f->opt.port_resp = static_cast<int>(v); }
  if (n.Has("port_memcache") && !given("--port-memcache")) { RETURN_IF_ERROR(n.GetInt("port_memcache", &v)); f->opt.port_memcache = static_cast<int>(v); }
  if (n.Has("http_port") && !given("--http-port")) { RETURN_IF_ERROR(n.GetInt("http_port", &v)); f->opt.http_port = static_cast<int>(v); }
  if (n.Has("threads") && !given("--threads")) { RETURN_IF_ERROR(n.GetInt("threads", &v)); f->opt.threads = static_cast<int>(v); }
  if (n.Has("poll_us") && !given("--poll-us")) { RETURN_IF_ERROR(n.GetInt("poll_us", &v)); f->opt.poll_us = static_cast<uint64_t>(v); }
  if (n.Has("memory") && !given("--memory")) RETURN_IF_ERROR(n.GetString("memory", &f->memory));
  if (n.Has("max_value_size") && !given("--max-value-size")) RETURN_IF_ERROR(n.GetString("max_value_size", &f->max_value));
  if (n.Has("data_dir") && !given("--data-dir")) RETURN_IF_ERROR(n.GetString("data_dir", &f->opt.data_dir));
  if (n.Has("password") && !given("--password")) RETURN_IF_ERROR(n.GetString("password", &f->opt.password));
  if (n.Has("namespaces")) {
    const YAML::Node specs = n.node()["namespaces"];
    if (!specs.IsSequence()) return Status::InvalidArgument(n.where() + ": key 'namespaces': expected a list");
    for (const auto& spec : specs) {
      if (!spec.IsScalar()) return Status::InvalidArgument(n.where() + ": key 'namespaces': expected a list of specs");
      f->namespaces.push_back(spec.as<std::string>());
    }
    std::string unused;
    (void)n.GetString("namespaces", &unused);  // marks the key as seen; the list was read above
  }
  return n.CheckNoUnknownKeys();
}

// The settings sit either at the top level of the file or under a `cache:`
// section, the form `strata up` writes (as for master: and chunkserver:).
Status ApplyConfigFile(CacheFlags* f, CLI::App* cmd) {
  ASSIGN_OR_RETURN(YAML::Node root, LoadYamlFile(f->config));
  if (!root.IsNull() && !root.IsMap()) return Status::InvalidArgument("config file " + f->config + ": expected a mapping");
  ConfigNode top(root, f->config);
  if (!top.Has("cache")) return ApplyConfig(top, f, cmd);
  if (root["cache"].IsNull()) root["cache"] = YAML::Node(YAML::NodeType::Map);  // an empty section
  ASSIGN_OR_RETURN(ConfigNode section, top.Child("cache"));
  RETURN_IF_ERROR(top.CheckNoUnknownKeys());  // nothing beside the section
  return ApplyConfig(section, f, cmd);
}

Status Prepare(CacheFlags* f, CLI::App* cmd) {
  if (!f->config.empty()) RETURN_IF_ERROR(ApplyConfigFile(f, cmd));
  ASSIGN_OR_RETURN(f->opt.memory_bytes, ParseByteSize(f->memory));
  ASSIGN_OR_RETURN(f->opt.max_value_bytes, ParseByteSize(f->max_value));
  for (const auto& spec : f->namespaces) {
    ASSIGN_OR_RETURN(auto ns, cache::ParseNamespaceSpec(spec));
    f->opt.namespaces.push_back(ns);
  }
  return Status::Ok();
}

int RunCache(CacheFlags* f, CLI::App* cmd) {
  Status s = InitLogging("cache", f->log_level, f->log_file);
  if (s.ok()) s = Prepare(f, cmd);
  if (!s.ok()) {
    std::cerr << "strata cache: " << s.ToString() << "\n";
    return 2;
  }
  // Signals are taken synchronously by this thread; every other thread
  // inherits the blocked mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  cache::CacheServer server(f->opt, SystemClock::Default());
  s = server.Start();
  if (!s.ok()) {
    spdlog::error("cache failed to start: {}", s.ToString());
    return 1;
  }
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("cache stopping on signal {}", sig);
  server.Stop();
  spdlog::info("cache stopped");
  return 0;
}

}  // namespace

void RegisterCacheCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("cache", "Run a cache server (memcached and Redis protocols)");
  auto f = std::make_shared<CacheFlags>();
  cmd->add_option("--port-resp", f->opt.port_resp, "Redis (RESP) port; 0 picks a free one")->capture_default_str();
  cmd->add_option("--port-memcache", f->opt.port_memcache, "memcached text protocol port; 0 picks a free one")->capture_default_str();
  cmd->add_option("--http-port", f->opt.http_port, "admin HTTP port (/metrics, /status)")->capture_default_str();
  cmd->add_option("--host", f->opt.host, "address to bind")->capture_default_str();
  cmd->add_option("--memory", f->memory, "memory limit for the mem engine (e.g. 256M, 4G)")->capture_default_str();
  cmd->add_option("--threads", f->opt.threads, "worker threads")->capture_default_str();
  cmd->add_option("--poll-us", f->opt.poll_us,
                  "busy-poll this many microseconds after the last request before a worker sleeps (0: never poll)")->capture_default_str();
  cmd->add_option("--data-dir", f->opt.data_dir, "directory for persist namespaces");
  cmd->add_option("--password", f->opt.password, "password required by AUTH");
  cmd->add_option("--max-value-size", f->max_value, "largest value accepted (e.g. 1M, 64M)")->capture_default_str();
  cmd->add_option("--namespace", f->namespaces, "namespace spec: id=N[,name=S][,engine=mem|persist][,quota=SIZE][,ops=N]");
  cmd->add_option("--config", f->config, "YAML config file (keys as the flags, with underscores)");
  cmd->add_option("--log-level", f->log_level, "trace, debug, info, warn, error")->capture_default_str();
  cmd->add_option("--log-file", f->log_file, "log file (default: stderr)");
  cmd->callback([f, cmd, exit_code] { *exit_code = RunCache(f.get(), cmd); });
}

}  // namespace strata::cli
