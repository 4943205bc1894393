// strata_replica_floor: the lowest 4 KiB replicated-append latency this
// machine allows, for bench/dfs_append to print beside strata and fio.
//
// It does only what any 3-replica sync append must do when the replicas are
// separate processes on one disk, and nothing else: a coordinator wakes
// `--replicas` child processes through pipes (cheaper than TCP), each child
// writes `--size` bytes into its own file and fdatasyncs it, and the append
// counts as acknowledged when `--acks` children have answered. No network
// stack, no checksums, no message encoding, no metadata.
// Each child's file has its blocks allocated (written with zeros) before the
// run, so its fdatasync needs no journal commit: the cheapest durable write
// this disk offers. A replicated append on this machine cannot be faster
// than this row; the gap between it and a local write+fdatasync is what
// sharing one disk (and waking other processes) costs.
//
// --no-sync: the replicas write without fdatasync (a `memory` append).
// --relays K: the coordinator is a separate process behind K relay
// processes (each forwards the request and, later, the answer), as a block
// write crosses the NBD gateway and the blockserver before its replicas:
// `--relays 1` is the floor of a block write (client -> gateway ->
// blockserver -> replicas), with pipes in place of TCP.
//
// Usage: strata_replica_floor --dir DIR [--count N] [--size BYTES]
//                             [--replicas N] [--acks N] [--no-sync]
//                             [--relays K]
// Prints one JSON object: {"p50_us":..., "p99_us":..., "count":..., ...}.
// Thread-safety: a single-threaded program (plus its child processes).
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string dir;
  long count = 2000;
  long size = 4096;
  int replicas = 3;
  int acks = 2;
  bool sync = true;
  int relays = 0;
};

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "strata_replica_floor: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

bool ParseOptions(int argc, char** argv, Options* opt) {
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--no-sync") {
      opt->sync = false;
      continue;
    }
    if (i + 1 >= argc) return false;
    const char* value = argv[++i];
    if (flag == "--dir") opt->dir = value;
    else if (flag == "--count") opt->count = std::atol(value);
    else if (flag == "--size") opt->size = std::atol(value);
    else if (flag == "--replicas") opt->replicas = std::atoi(value);
    else if (flag == "--acks") opt->acks = std::atoi(value);
    else if (flag == "--relays") opt->relays = std::atoi(value);
    else return false;
  }
  return !opt->dir.empty() && opt->count > 0 && opt->size > 0 && opt->replicas > 0 && opt->acks > 0 &&
         opt->acks <= opt->replicas && opt->relays >= 0;
}

// One replica: for each byte read from `in`, one write+fdatasync, then one
// byte back on `out`.
[[noreturn]] void RunReplica(const Options& opt, int index, int in, int out) {
  std::string path = opt.dir + "/floor." + std::to_string(index);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) Fail("open " + path);
  std::vector<char> zeros(1 << 20, 0);
  const long total = opt.count * opt.size;
  for (long at = 0; at < total; at += static_cast<long>(zeros.size())) {
    if (::pwrite(fd, zeros.data(), zeros.size(), at) < 0) Fail("pwrite " + path);
  }
  if (::fdatasync(fd) != 0) Fail("fdatasync " + path);
  std::vector<char> data(opt.size, 'x');
  char token = 0;
  if (::write(out, &token, 1) != 1) Fail("ready");  // allocated: ready
  for (long i = 0; i < opt.count; ++i) {
    if (::read(in, &token, 1) != 1) Fail("read request");
    if (::pwrite(fd, data.data(), data.size(), i * opt.size) != opt.size) Fail("pwrite " + path);
    if (opt.sync && ::fdatasync(fd) != 0) Fail("fdatasync " + path);
    if (::write(out, &token, 1) != 1) Fail("write reply");
  }
  ::close(fd);
  ::unlink(path.c_str());
  std::_Exit(0);
}

// Starts the replicas; `to`/`from` get their pipes.
void StartReplicas(const Options& opt, std::vector<int>* to, std::vector<int>* from) {
  to->resize(opt.replicas);
  from->resize(opt.replicas);
  for (int r = 0; r < opt.replicas; ++r) {
    int down[2], up[2];
    if (::pipe(down) != 0 || ::pipe(up) != 0) Fail("pipe");
    pid_t pid = ::fork();
    if (pid < 0) Fail("fork");
    if (pid == 0) RunReplica(opt, r, down[0], up[1]);
    ::close(down[0]);
    ::close(up[1]);
    (*to)[r] = down[1];
    (*from)[r] = up[0];
  }
  char token = 0;
  for (int r = 0; r < opt.replicas; ++r) {
    if (::read((*from)[r], &token, 1) != 1) Fail("replica setup");
  }
}

// One replicated append. pending[r]: requests sent to replica r not yet
// answered. As in the dfs writer, the next append goes out once `acks`
// replicas have answered this one; a slower replica works through its queue
// meanwhile.
void Append(const Options& opt, const std::vector<int>& to, const std::vector<int>& from, std::vector<long>* pending) {
  char token = 0;
  for (int r = 0; r < opt.replicas; ++r) {
    if (::write(to[r], &token, 1) != 1) Fail("send");
    ++(*pending)[r];
  }
  int acked = 0;
  std::vector<bool> counted(opt.replicas, false);
  while (acked < opt.acks) {
    std::vector<pollfd> fds(opt.replicas);
    for (int r = 0; r < opt.replicas; ++r) fds[r] = {from[r], POLLIN, 0};
    if (::poll(fds.data(), fds.size(), -1) < 0) Fail("poll");
    for (int r = 0; r < opt.replicas; ++r) {
      if (!(fds[r].revents & POLLIN)) continue;
      if (::read(from[r], &token, 1) != 1) Fail("reply");
      if (--(*pending)[r] == 0 && !counted[r]) {
        counted[r] = true;
        ++acked;
      }
    }
  }
}

// The stage `depth` relays away from the client: a relay forwards each
// request to the next stage and its answer back; the last one is the
// coordinator, which starts the replicas and appends once per request.
[[noreturn]] void RunStage(const Options& opt, int depth, int in, int out) {
  char token = 0;
  if (depth == opt.relays) {
    std::vector<int> to, from;
    StartReplicas(opt, &to, &from);
    std::vector<long> pending(opt.replicas, 0);
    if (::write(out, &token, 1) != 1) Fail("ready");
    while (::read(in, &token, 1) == 1) {
      Append(opt, to, from, &pending);
      if (::write(out, &token, 1) != 1) Fail("answer");
    }
    for (int r = 0; r < opt.replicas; ++r) ::close(to[r]);
    while (::wait(nullptr) > 0) {
    }
    std::_Exit(0);
  }
  int down[2], up[2];
  if (::pipe(down) != 0 || ::pipe(up) != 0) Fail("pipe");
  pid_t pid = ::fork();
  if (pid < 0) Fail("fork");
  if (pid == 0) {
    ::close(down[1]);
    ::close(up[0]);
    RunStage(opt, depth + 1, down[0], up[1]);
  }
  ::close(down[0]);
  ::close(up[1]);
  if (::read(up[0], &token, 1) != 1) Fail("relay setup");
  if (::write(out, &token, 1) != 1) Fail("ready");
  while (::read(in, &token, 1) == 1) {
    if (::write(down[1], &token, 1) != 1) Fail("forward");
    if (::read(up[0], &token, 1) != 1) Fail("forward answer");
    if (::write(out, &token, 1) != 1) Fail("answer");
  }
  ::close(down[1]);
  while (::wait(nullptr) > 0) {
  }
  std::_Exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!ParseOptions(argc, argv, &opt)) {
    std::fprintf(stderr,
                 "usage: strata_replica_floor --dir DIR [--count N] [--size BYTES] [--replicas N] [--acks N]"
                 " [--no-sync] [--relays K]\n");
    return 2;
  }
  std::vector<int> to, from;
  int stage_in = -1, stage_out = -1;
  char token = 0;
  if (opt.relays == 0) {
    StartReplicas(opt, &to, &from);
  } else {
    int down[2], up[2];
    if (::pipe(down) != 0 || ::pipe(up) != 0) Fail("pipe");
    pid_t pid = ::fork();
    if (pid < 0) Fail("fork");
    if (pid == 0) {
      ::close(down[1]);
      ::close(up[0]);
      RunStage(opt, 1, down[0], up[1]);
    }
    ::close(down[0]);
    ::close(up[1]);
    stage_in = up[0];
    stage_out = down[1];
    if (::read(stage_in, &token, 1) != 1) Fail("stage setup");
  }
  std::vector<long> pending(opt.replicas, 0);
  std::vector<double> latency_us;
  latency_us.reserve(opt.count);
  for (long i = 0; i < opt.count; ++i) {
    auto start = std::chrono::steady_clock::now();
    if (opt.relays == 0) {
      Append(opt, to, from, &pending);
    } else {
      if (::write(stage_out, &token, 1) != 1) Fail("send");
      if (::read(stage_in, &token, 1) != 1) Fail("answer");
    }
    latency_us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  for (int fd : to) ::close(fd);
  if (stage_out >= 0) ::close(stage_out);
  while (::wait(nullptr) > 0) {
  }
  std::sort(latency_us.begin(), latency_us.end());
  double sum = 0;
  for (double v : latency_us) sum += v;
  auto at = [&](double q) { return latency_us[std::min<size_t>(latency_us.size() - 1, q * latency_us.size())]; };
  std::printf("{\"count\":%ld,\"size_bytes\":%ld,\"replicas\":%d,\"acks\":%d,\"sync\":%s,\"relays\":%d,"
              "\"p50_us\":%.0f,\"p99_us\":%.0f,\"avg_us\":%.0f,\"mib_per_sec\":%.2f}\n",
              opt.count, opt.size, opt.replicas, opt.acks, opt.sync ? "true" : "false", opt.relays, at(0.5),
              at(0.99), sum / latency_us.size(), opt.size * opt.count / (sum / 1e6) / 1048576.0);
  return 0;
}
