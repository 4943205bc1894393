#include "env/memory/memory_file_system.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>
#include <set>

namespace strata {
namespace {

std::string Normalize(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

std::string Parent(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Bytes held by every file, against the capacity.
struct Space {
  explicit Space(uint64_t capacity) : capacity_bytes(capacity) {}
  const uint64_t capacity_bytes;
  std::atomic<uint64_t> used_bytes{0};
  // Takes `grow` more bytes if they fit.
  bool Take(uint64_t grow) {
    uint64_t used = used_bytes.load();
    do {
      if (grow > capacity_bytes - used) return false;
    } while (!used_bytes.compare_exchange_weak(used, used + grow));
    return true;
  }
  void Give(uint64_t bytes) { used_bytes.fetch_sub(bytes); }
};

// A file's bytes, sparse as on a real file system: 4 KiB pages, a missing
// page reads as zeros and takes no space (a chunk file's data starts past a
// 4 MiB CRC table that is mostly holes).
struct Node {
  static constexpr uint64_t kPageBytes = 4096;
  explicit Node(std::shared_ptr<Space> s) : space(std::move(s)) {}
  ~Node() { space->Give(pages.size() * kPageBytes); }
  std::shared_ptr<Space> space;
  std::mutex mu;
  uint64_t size = 0;                       // GUARDED_BY(mu)
  std::map<uint64_t, std::string> pages;   // GUARDED_BY(mu); by page index, kPageBytes each

  // Calls fn(page index, offset in the page, offset in buf, bytes) for
  // each page [offset, offset + n) touches.
  template <typename Fn>
  static void ForEachPiece(uint64_t offset, size_t n, Fn fn) {
    for (size_t done = 0; done < n;) {
      const uint64_t at = offset + done;
      const size_t piece = std::min<uint64_t>(n - done, kPageBytes - at % kPageBytes);
      fn(at / kPageBytes, at % kPageBytes, done, piece);
      done += piece;
    }
  }
  static bool AllZero(const char* p, size_t n) {
    return n == 0 || (p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0);
  }

  // REQUIRES: mu held.
  size_t ReadLocked(uint64_t offset, char* buf, size_t n) const {
    if (offset >= size) return 0;
    const size_t got = std::min<uint64_t>(n, size - offset);
    ForEachPiece(offset, got, [&](uint64_t index, uint64_t in_page, size_t to, size_t piece) {
      auto it = pages.find(index);
      if (it == pages.end()) {
        std::memset(buf + to, 0, piece);
      } else {
        std::memcpy(buf + to, it->second.data() + in_page, piece);
      }
    });
    return got;
  }
  // Zeros written into a hole leave it a hole (they read the same), so the
  // megabytes of zeros a replica writes ahead cost nothing here.
  // REQUIRES: mu held; offset + n does not overflow.
  Status WriteLocked(uint64_t offset, const char* buf, size_t n, const std::string& path) {
    uint64_t missing = 0;
    ForEachPiece(offset, n, [&](uint64_t page, uint64_t, size_t from, size_t piece) {
      if (!pages.count(page) && !AllZero(buf + from, piece)) missing++;
    });
    if (!space->Take(missing * kPageBytes)) return Status::NoSpace(path + ": memory file system full");
    ForEachPiece(offset, n, [&](uint64_t index, uint64_t in_page, size_t from, size_t piece) {
      auto it = pages.find(index);
      if (it == pages.end()) {
        if (AllZero(buf + from, piece)) return;
        it = pages.emplace(index, std::string(kPageBytes, '\0')).first;
      }
      std::memcpy(it->second.data() + in_page, buf + from, piece);
    });
    size = std::max(size, offset + n);
    return Status::Ok();
  }
  // REQUIRES: mu held.
  void TruncateLocked(uint64_t new_size) {
    if (new_size < size) {
      auto keep_end = pages.lower_bound((new_size + kPageBytes - 1) / kPageBytes);
      space->Give(std::distance(keep_end, pages.end()) * kPageBytes);
      pages.erase(keep_end, pages.end());
      if (new_size % kPageBytes != 0) {
        auto it = pages.find(new_size / kPageBytes);
        if (it != pages.end()) std::memset(it->second.data() + new_size % kPageBytes, 0, kPageBytes - new_size % kPageBytes);
      }
    }
    size = new_size;
  }
};

class MemoryFile final : public File {
 public:
  MemoryFile(std::shared_ptr<Node> node, std::string path, bool writable)
      : node_(std::move(node)), path_(std::move(path)), writable_(writable) {}
  Result<size_t> ReadAt(uint64_t offset, void* buf, size_t n) override {
    std::lock_guard lock(node_->mu);
    return node_->ReadLocked(offset, static_cast<char*>(buf), n);
  }
  Status WriteAt(uint64_t offset, const void* buf, size_t n) override {
    if (!writable_) return Status::PermissionDenied(path_ + ": opened read-only");
    if (n == 0) return Status::Ok();
    if (offset > UINT64_MAX - n) return Status::InvalidArgument(path_ + ": write past 2^64");
    std::lock_guard lock(node_->mu);
    return node_->WriteLocked(offset, static_cast<const char*>(buf), n, path_);
  }
  Status Sync() override { return Status::Ok(); }
  Status Truncate(uint64_t size) override {
    if (!writable_) return Status::PermissionDenied(path_ + ": opened read-only");
    std::lock_guard lock(node_->mu);
    node_->TruncateLocked(size);
    return Status::Ok();
  }
  Result<uint64_t> Size() override {
    std::lock_guard lock(node_->mu);
    return node_->size;
  }
  const std::string& path() const override { return path_; }

 private:
  const std::shared_ptr<Node> node_;
  const std::string path_;
  const bool writable_;
};

class MemoryFileLock final : public FileLock {
 public:
  MemoryFileLock(std::shared_ptr<std::mutex> mu, std::shared_ptr<std::set<std::string>> held, std::string path)
      : mu_(std::move(mu)), held_(std::move(held)), path_(std::move(path)) {}
  ~MemoryFileLock() override {
    std::lock_guard lock(*mu_);
    held_->erase(path_);
  }
  const std::string& path() const override { return path_; }

 private:
  std::shared_ptr<std::mutex> mu_;
  std::shared_ptr<std::set<std::string>> held_;
  const std::string path_;
};

class MemoryFileSystem final : public FileSystem {
 public:
  explicit MemoryFileSystem(uint64_t capacity_bytes) : space_(std::make_shared<Space>(capacity_bytes)) {
    dirs_.insert("/");
  }

  Result<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) override {
    const std::string p = Normalize(path);
    std::lock_guard lock(mu_);
    auto it = files_.find(p);
    if (it == files_.end()) {
      if (mode != OpenMode::kCreate) return Status::NotFound(p + ": no such file");
      if (dirs_.count(p)) return Status::FailedPrecondition(p + ": is a directory");
      if (!IsDirLocked(Parent(p))) return Status::NotFound(p + ": no such directory");
      it = files_.emplace(p, std::make_shared<Node>(space_)).first;
    }
    return std::unique_ptr<File>(std::make_unique<MemoryFile>(it->second, p, mode != OpenMode::kRead));
  }

  Status CreateDirs(const std::string& path) override {
    const std::string p = Normalize(path);
    std::lock_guard lock(mu_);
    for (std::string d = p; !d.empty() && !dirs_.count(d); d = Parent(d)) {
      if (files_.count(d)) return Status::FailedPrecondition(d + ": is a file");
    }
    for (std::string d = p; !d.empty() && !dirs_.count(d); d = Parent(d)) dirs_.insert(d);
    return Status::Ok();
  }

  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    const std::string p = Normalize(path);
    std::lock_guard lock(mu_);
    if (!IsDirLocked(p)) return Status::NotFound(p + ": no such directory");
    std::vector<std::string> names;
    const std::string prefix = p == "/" ? "/" : p + "/";
    auto add = [&](const std::string& entry) {
      if (entry.size() > prefix.size() && entry.compare(0, prefix.size(), prefix) == 0 &&
          entry.find('/', prefix.size()) == std::string::npos) {
        names.push_back(entry.substr(prefix.size()));
      }
    };
    for (const auto& [name, node] : files_) add(name);
    for (const auto& d : dirs_) add(d);
    std::sort(names.begin(), names.end());
    return names;
  }

  Status RemoveFile(const std::string& path) override {
    const std::string p = Normalize(path);
    std::lock_guard lock(mu_);
    if (files_.erase(p) == 0) return Status::NotFound(p + ": no such file");
    return Status::Ok();
  }

  Status Rename(const std::string& from, const std::string& to) override {
    const std::string a = Normalize(from), b = Normalize(to);
    std::lock_guard lock(mu_);
    auto it = files_.find(a);
    if (it == files_.end()) return Status::NotFound(a + ": no such file");
    if (!IsDirLocked(Parent(b))) return Status::NotFound(b + ": no such directory");
    if (dirs_.count(b)) return Status::FailedPrecondition(b + ": is a directory");
    auto node = it->second;
    files_.erase(it);
    files_[b] = std::move(node);
    return Status::Ok();
  }

  bool Exists(const std::string& path) override {
    const std::string p = Normalize(path);
    std::lock_guard lock(mu_);
    return files_.count(p) || dirs_.count(p);
  }

  Status SyncDir(const std::string& path) override {
    const std::string p = Normalize(path);
    std::lock_guard lock(mu_);
    return IsDirLocked(p) ? Status::Ok() : Status::NotFound(p + ": no such directory");
  }

  Result<DiskSpace> GetDiskSpace(const std::string& path) override {
    DiskSpace space;
    space.capacity_bytes = space_->capacity_bytes;
    space.free_bytes = space_->capacity_bytes - std::min(space_->capacity_bytes, space_->used_bytes.load());
    space.device_id = reinterpret_cast<uintptr_t>(this);
    return space;
  }

  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    const std::string p = Normalize(path);
    std::unique_ptr<File> file;
    ASSIGN_OR_RETURN(file, OpenFile(p, OpenMode::kCreate));
    std::lock_guard lock(*lock_mu_);
    if (!locks_->insert(p).second) {
      return Status::FailedPrecondition(p + " is locked by pid " + std::to_string(::getpid()));
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    RETURN_IF_ERROR(file->Truncate(0));
    RETURN_IF_ERROR(file->WriteAt(0, pid.data(), pid.size()));
    return std::unique_ptr<FileLock>(std::make_unique<MemoryFileLock>(lock_mu_, locks_, p));
  }

 private:
  // REQUIRES: mu_ held.
  bool IsDirLocked(const std::string& path) const { return path.empty() || dirs_.count(path) > 0; }

  const std::shared_ptr<Space> space_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Node>> files_;  // GUARDED_BY(mu_)
  std::set<std::string> dirs_;                          // GUARDED_BY(mu_)
  // Shared with the FileLocks, which may outlive the file system.
  std::shared_ptr<std::mutex> lock_mu_ = std::make_shared<std::mutex>();
  std::shared_ptr<std::set<std::string>> locks_ = std::make_shared<std::set<std::string>>();  // GUARDED_BY(*lock_mu_)
};

}  // namespace

std::shared_ptr<FileSystem> NewMemoryFileSystem(uint64_t capacity_bytes) {
  return std::make_shared<MemoryFileSystem>(capacity_bytes);
}

}  // namespace strata
