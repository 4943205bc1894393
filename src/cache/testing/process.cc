#include "cache/testing/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace strata::cache::testing {

namespace {

using Clock = std::chrono::steady_clock;

std::vector<char*> Argv(const std::vector<std::string>& args) {
  std::vector<char*> v;
  for (const auto& a : args) v.push_back(const_cast<char*>(a.c_str()));
  v.push_back(nullptr);
  return v;
}

int WaitPid(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (Clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

RunResult RunProgram(const std::vector<std::string>& argv, const std::string& input, std::chrono::milliseconds timeout) {
  int in_pipe[2], out_pipe[2];
  if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    close(in_pipe[1]);
    close(out_pipe[0]);
    auto v = Argv(argv);
    execvp(v[0], v.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  // Feed stdin from a thread so a large input cannot deadlock against output.
  std::thread feeder([fd = in_pipe[1], input] {
    size_t off = 0;
    while (off < input.size()) {
      ssize_t n = write(fd, input.data() + off, input.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    close(fd);
  });
  RunResult r;
  auto deadline = Clock::now() + timeout;
  char buf[65536];
  while (true) {
    pollfd p{out_pipe[0], POLLIN, 0};
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (left <= 0) {
      kill(pid, SIGKILL);
      break;
    }
    if (poll(&p, 1, left) <= 0) continue;
    ssize_t n = read(out_pipe[0], buf, sizeof(buf));
    if (n <= 0) break;
    r.out.append(buf, static_cast<size_t>(n));
  }
  close(out_pipe[0]);
  feeder.join();
  r.exit_code = WaitPid(pid, std::chrono::seconds(10));
  return r;
}

bool HaveProgram(const std::string& name) {
  return RunProgram({"sh", "-c", "command -v " + name}).exit_code == 0;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!cond()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

std::string MakeTempDir() {
  std::string tmpl = (std::getenv("TMPDIR") ? std::string(std::getenv("TMPDIR")) : "/tmp") + "/strata-cache-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  char* d = mkdtemp(buf.data());
  return d ? std::string(d) : std::string();
}

uint64_t RssBytes(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

Client::Client(int port) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd_);
    fd_ = -1;
    return;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

Client::~Client() {
  if (fd_ >= 0) close(fd_);
}

bool Client::Send(std::string_view data) {
  if (fd_ < 0) return false;
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string Client::ReadUntil(const std::function<bool(const std::string&)>& done, std::chrono::milliseconds timeout) {
  std::string buf;
  if (fd_ < 0) return buf;
  auto deadline = Clock::now() + timeout;
  char tmp[65536];
  while (!done(buf)) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (left <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, left) <= 0) continue;
    ssize_t n = recv(fd_, tmp, sizeof(tmp), 0);
    if (n <= 0) break;
    buf.append(tmp, static_cast<size_t>(n));
  }
  return buf;
}

std::string Client::ReadUntilSuffix(const std::string& suffix) {
  return ReadUntil([&](const std::string& b) { return b.size() >= suffix.size() && b.ends_with(suffix); });
}

bool Client::WaitClosed(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  char tmp[4096];
  while (Clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    ssize_t n = recv(fd_, tmp, sizeof(tmp), 0);
    if (n <= 0) return true;
  }
  return false;
}

CacheProcess::CacheProcess(std::vector<std::string> extra_args, std::string data_dir) {
  std::string dir = data_dir.empty() ? MakeTempDir() : data_dir;
  log_ = dir + "/cache.log";
  resp_ = FreePort();
  mc_ = FreePort();
  http_ = FreePort();
  const char* bin = std::getenv("STRATA_BIN");
  args_ = {bin ? bin : "strata", "cache", "--port-resp", std::to_string(resp_), "--port-memcache", std::to_string(mc_),
           "--http-port", std::to_string(http_), "--threads", "2"};
  bool has_memory = false;
  for (const auto& a : extra_args) has_memory |= a == "--memory";
  if (!has_memory) args_.insert(args_.end(), {"--memory", "64M"});
  args_.insert(args_.end(), extra_args.begin(), extra_args.end());
  ready_ = Launch();
}

bool CacheProcess::Launch() {
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
    int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    auto v = Argv(args_);
    execv(v[0], v.data());
    _exit(127);
  }
  return WaitFor(
      [&] {
        if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
          pid_ = -1;
          return true;
        }
        Client c(resp_);
        if (!c.connected()) return false;
        Client m(mc_);
        // With --password, PING is answered NOAUTH: the server answers all the same.
        const std::string pong = m.connected() ? c.Command("PING\r\n") : "";
        return pong.find("PONG") != std::string::npos || pong.find("NOAUTH") != std::string::npos;
      },
      std::chrono::seconds(20)) &&
         pid_ > 0;
}

bool CacheProcess::Restart() {
  ready_ = Launch();
  return ready_;
}

int CacheProcess::Stop(int sig, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  int code = WaitPid(pid_, timeout);
  if (code != -1) pid_ = -1;
  return code;
}

CacheProcess::~CacheProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    WaitPid(pid_, std::chrono::seconds(10));
  }
}

std::string CacheProcess::Log() const {
  std::ifstream f(log_);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string PythonWithRedis() {
  for (const char* py : {"/usr/bin/python3", "python3"}) {
    if (RunProgram({py, "-c", "import redis"}).exit_code == 0) return py;
  }
  return "";
}

}  // namespace strata::cache::testing
