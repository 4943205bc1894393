#include "rpc/cluster_secret.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace strata::rpc {
namespace {

std::string Hex(const std::string& bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> Unhex(const std::string& text, const std::string& path) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  if (t.size() < 2 * kSecretBytes || t.size() % 2 != 0) {
    return Status::InvalidArgument("secret file " + path + " does not hold a secret (at least " +
                                   std::to_string(2 * kSecretBytes) + " hex digits on one line)");
  }
  std::string out;
  for (size_t i = 0; i < t.size(); i += 2) {
    int hi = HexValue(t[i]), lo = HexValue(t[i + 1]);
    if (hi < 0 || lo < 0) return Status::InvalidArgument("secret file " + path + " holds a character that is not hex");
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

Status WriteAllFd(int fd, const std::string& data, const std::string& path) {
  for (size_t at = 0; at < data.size();) {
    ssize_t n = ::write(fd, data.data() + at, data.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "write " + path);
    at += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> ReadClusterSecret(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("no secret file " + path);
    return Status::FromErrno(errno, "open secret file " + path);
  }
  struct stat st {};
  std::string text;
  Status status = Status::Ok();
  if (::fstat(fd, &st) != 0) {
    status = Status::FromErrno(errno, "stat " + path);
  } else if (!S_ISREG(st.st_mode)) {
    status = Status::InvalidArgument("secret file " + path + " is not a regular file");
  } else if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    status = Status::PermissionDenied("secret file " + path + " may be read or written by others (mode " + mode +
                                      "): run chmod 600 " + path);
  } else {
    char buf[512];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) status = Status::FromErrno(errno, "read " + path);
      if (n <= 0 || text.size() > 4096) break;
      text.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  RETURN_IF_ERROR(status);
  return Unhex(text, path);
}

Status CreateClusterSecretIfMissing(const std::string& path, SecureRandom& random) {
  auto existing = ReadClusterSecret(path);
  if (existing.ok()) return Status::Ok();
  if (existing.status().code() != StatusCode::kNotFound) return existing.status();
  std::string secret(kSecretBytes, '\0');
  RETURN_IF_ERROR(random.Fill(secret.data(), secret.size()));
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());  // left by a crash before the rename
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "create " + tmp);
  Status st = WriteAllFd(fd, Hex(secret) + "\n", tmp);
  if (st.ok() && ::fsync(fd) != 0) st = Status::FromErrno(errno, "fsync " + tmp);
  ::close(fd);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = Status::FromErrno(errno, "rename " + tmp);
  if (!st.ok()) ::unlink(tmp.c_str());
  return st;
}

Result<std::shared_ptr<const RpcAuth>> LoadRpcAuth(const std::string& path) {
  if (path.empty()) return std::shared_ptr<const RpcAuth>();
  ASSIGN_OR_RETURN(std::string secret, ReadClusterSecret(path));
  auto auth = std::make_shared<RpcAuth>();
  auth->secret = std::move(secret);
  auth->random = NewOsSecureRandom();
  return std::shared_ptr<const RpcAuth>(std::move(auth));
}

}  // namespace strata::rpc
