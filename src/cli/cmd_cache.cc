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
  std::string pubsub_limit = "32M 8M 60";
  std::string config;
  std::string log_level = "info";
  std::string log_file;
  std::vector<std::string> namespaces;
};

// Reads the settings of one config mapping (same names as the flags, with
// underscores); flags given on the command line win. A key is read and
// checked even when its flag wins, so it is not taken for an unknown key.
Status ApplyConfig(ConfigNode& n, CacheFlags* f, CLI::App* cmd) {
  auto given = [&](const char* flag) { return cmd->count(flag) > 0; };
  auto text = [&](const char* key, const char* flag, std::string* out) -> Status {
    std::string value = *out;
    RETURN_IF_ERROR(n.GetString(key, &value));
    if (!given(flag)) *out = value;
    return Status::Ok();
  };
  auto number = [&]<typename T>(const char* key, const char* flag, T* out) -> Status {
    int64_t value = static_cast<int64_t>(*out);
    RETURN_IF_ERROR(n.GetInt(key, &value));
    if (!given(flag)) *out = static_cast<T>(value);
    return Status::Ok();
  };
  RETURN_IF_ERROR(text("host", "--host", &f->opt.host));
  RETURN_IF_ERROR(number("port_resp", "--port-resp", &f->opt.port_resp));
  RETURN_IF_ERROR(number("port_memcache", "--port-memcache", &f->opt.port_memcache));
  RETURN_IF_ERROR(number("http_port", "--http-port", &f->opt.http_port));
  RETURN_IF_ERROR(number("threads", "--threads", &f->opt.threads));
  RETURN_IF_ERROR(number("poll_us", "--poll-us", &f->opt.poll_us));
  RETURN_IF_ERROR(text("memory", "--memory", &f->memory));
  RETURN_IF_ERROR(text("max_value_size", "--max-value-size", &f->max_value));
  RETURN_IF_ERROR(text("data_dir", "--data-dir", &f->opt.data_dir));
  RETURN_IF_ERROR(text("password", "--password", &f->opt.password));
  RETURN_IF_ERROR(text("pubsub_buffer_limit", "--pubsub-buffer-limit", &f->pubsub_limit));
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
  ASSIGN_OR_RETURN(f->opt.pubsub_limits, cache::ParsePubSubLimits(f->pubsub_limit));
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
  cmd->add_option("--pubsub-buffer-limit", f->pubsub_limit,
                  "output-buffer limit of a subscriber: 'HARD SOFT SECONDS' (over HARD, or over SOFT for SECONDS, "
                  "it is disconnected; 0 turns a limit off)")->capture_default_str();
  cmd->add_option("--namespace", f->namespaces, "namespace spec: id=N[,name=S][,engine=mem|persist][,quota=SIZE][,ops=N]");
  cmd->add_option("--config", f->config, "YAML config file (keys as the flags, with underscores)");
  cmd->add_option("--log-level", f->log_level, "trace, debug, info, warn, error")->capture_default_str();
  cmd->add_option("--log-file", f->log_file, "log file (default: stderr)");
  cmd->callback([f, cmd, exit_code] { *exit_code = RunCache(f.get(), cmd); });
}

}  // namespace strata::cli
