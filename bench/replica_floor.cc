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
// Usage: strata_replica_floor --dir DIR [--count N] [--size BYTES]
//                             [--replicas N] [--acks N]
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
};

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "strata_replica_floor: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

bool ParseOptions(int argc, char** argv, Options* opt) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--dir") opt->dir = value;
    else if (flag == "--count") opt->count = std::atol(value);
    else if (flag == "--size") opt->size = std::atol(value);
    else if (flag == "--replicas") opt->replicas = std::atoi(value);
    else if (flag == "--acks") opt->acks = std::atoi(value);
    else return false;
  }
  return argc % 2 == 1 && !opt->dir.empty() && opt->count > 0 && opt->size > 0 && opt->replicas > 0 &&
         opt->acks > 0 && opt->acks <= opt->replicas;
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
    if (::fdatasync(fd) != 0) Fail("fdatasync " + path);
    if (::write(out, &token, 1) != 1) Fail("write reply");
  }
  ::close(fd);
  ::unlink(path.c_str());
  std::_Exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!ParseOptions(argc, argv, &opt)) {
    std::fprintf(stderr,
                 "usage: strata_replica_floor --dir DIR [--count N] [--size BYTES] [--replicas N] [--acks N]\n");
    return 2;
  }
  std::vector<int> to(opt.replicas), from(opt.replicas);
  for (int r = 0; r < opt.replicas; ++r) {
    int down[2], up[2];
    if (::pipe(down) != 0 || ::pipe(up) != 0) Fail("pipe");
    pid_t pid = ::fork();
    if (pid < 0) Fail("fork");
    if (pid == 0) RunReplica(opt, r, down[0], up[1]);
    ::close(down[0]);
    ::close(up[1]);
    to[r] = down[1];
    from[r] = up[0];
  }
  char token = 0;
  for (int r = 0; r < opt.replicas; ++r) {
    if (::read(from[r], &token, 1) != 1) Fail("replica setup");
  }
  // pending[r]: requests sent to replica r not yet answered. As in the dfs
  // writer, the next append goes out once `acks` replicas have answered
  // this one; a slower replica works through its queue meanwhile.
  std::vector<long> pending(opt.replicas, 0);
  std::vector<double> latency_us;
  latency_us.reserve(opt.count);
  for (long i = 0; i < opt.count; ++i) {
    auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < opt.replicas; ++r) {
      if (::write(to[r], &token, 1) != 1) Fail("send");
      ++pending[r];
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
        if (--pending[r] == 0 && !counted[r]) {
          counted[r] = true;
          ++acked;
        }
      }
    }
    latency_us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  for (int r = 0; r < opt.replicas; ++r) ::close(to[r]);
  while (::wait(nullptr) > 0) {
  }
  std::sort(latency_us.begin(), latency_us.end());
  double sum = 0;
  for (double v : latency_us) sum += v;
  auto at = [&](double q) { return latency_us[std::min<size_t>(latency_us.size() - 1, q * latency_us.size())]; };
  std::printf("{\"count\":%ld,\"size_bytes\":%ld,\"replicas\":%d,\"acks\":%d,\"p50_us\":%.0f,\"p99_us\":%.0f,"
              "\"mib_per_sec\":%.2f}\n",
              opt.count, opt.size, opt.replicas, opt.acks, at(0.5), at(0.99),
              opt.size * opt.count / (sum / 1e6) / 1048576.0);
  return 0;
}
