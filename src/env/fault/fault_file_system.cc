#include "env/fault/fault_file_system.h"

#include <cerrno>

namespace strata {
namespace {

class FaultFile final : public File {
 public:
  FaultFile(std::unique_ptr<File> target, FaultInjectingFileSystem* fs) : target_(std::move(target)), fs_(fs) {}

  Result<size_t> ReadAt(uint64_t offset, void* buf, size_t n) override {
    RETURN_IF_ERROR(fs_->BeforeIo(path(), FaultInjectingFileSystem::IoKind::kDeviceRead, false, "read"));
    return target_->ReadAt(offset, buf, n);
  }
  Status WriteAt(uint64_t offset, const void* buf, size_t n) override {
    RETURN_IF_ERROR(fs_->BeforeIo(path(), FaultInjectingFileSystem::IoKind::kBufferedWrite, true, "write"));
    RETURN_IF_ERROR(target_->WriteAt(offset, buf, n));
    fs_->NoteWrite(path(), offset + n);
    return Status::Ok();
  }
  void DropCache(uint64_t offset, uint64_t n) override { target_->DropCache(offset, n); }
  Status Sync() override {
    RETURN_IF_ERROR(fs_->BeforeIo(path(), FaultInjectingFileSystem::IoKind::kDeviceSync, false, "fdatasync"));
    // Only what was written before the sync began is sure to be durable.
    ASSIGN_OR_RETURN(uint64_t size, target_->Size());
    RETURN_IF_ERROR(target_->Sync());
    fs_->NoteSync(path(), size);
    return Status::Ok();
  }
  Status Truncate(uint64_t size) override {
    RETURN_IF_ERROR(fs_->BeforeIo(path(), FaultInjectingFileSystem::IoKind::kMetadata, false, "truncate"));
    return target_->Truncate(size);
  }
  Result<uint64_t> Size() override { return target_->Size(); }
  const std::string& path() const override { return target_->path(); }

 private:
  std::unique_ptr<File> target_;
  FaultInjectingFileSystem* fs_;
};

bool HasPrefix(const std::string& path, const std::string& prefix) {
  return path.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

FaultInjectingFileSystem::FaultInjectingFileSystem(std::shared_ptr<FileSystem> target, std::shared_ptr<Clock> clock,
                                                   uint64_t seed)
    : FileSystemWrapper(std::move(target)), clock_(std::move(clock)), random_(seed) {}

void FaultInjectingFileSystem::SetFault(const std::string& prefix, const DiskFault& fault) {
  std::lock_guard lock(mu_);
  faults_[prefix] = fault;
  unfrozen_.notify_all();
}

void FaultInjectingFileSystem::ClearFault(const std::string& prefix) {
  std::lock_guard lock(mu_);
  faults_.erase(prefix);
  unfrozen_.notify_all();
}

DiskFault FaultInjectingFileSystem::GetFault(const std::string& path) const {
  std::lock_guard lock(mu_);
  return GetFaultLocked(path);
}

DiskFault FaultInjectingFileSystem::GetFaultLocked(const std::string& path) const {
  DiskFault out;
  size_t best = 0;
  const std::string as_dir = path + "/";  // a fault set on "dir/" applies to "dir" itself
  for (const auto& [prefix, fault] : faults_) {
    if ((HasPrefix(path, prefix) || HasPrefix(as_dir, prefix)) && prefix.size() >= best) {
      best = prefix.size();
      out = fault;
    }
  }
  return out;
}

Status FaultInjectingFileSystem::BeforeIo(const std::string& path, IoKind kind, bool allocates, const char* op) {
  DiskFault fault = GetFault(path);
  if (!fault.any()) return Status::Ok();
  if (fault.frozen && kind != IoKind::kBufferedWrite && kind != IoKind::kStat) {
    std::unique_lock lock(mu_);
    unfrozen_.wait(lock, [&] { return !GetFaultLocked(path).frozen; });
    fault = GetFaultLocked(path);
  }
  bool waits_for_device = kind == IoKind::kDeviceRead || kind == IoKind::kDeviceSync;
  if (fault.latency_ms && waits_for_device) clock_->SleepMicros(uint64_t{fault.latency_ms} * 1000);
  if (allocates && fault.no_space) return Status::FromErrno(ENOSPC, std::string(op) + " " + path + " (injected)");
  if (fault.error_rate > 0 && kind != IoKind::kStat) {
    bool fail;
    {
      std::lock_guard lock(mu_);
      fail = random_.Bernoulli(fault.error_rate);
    }
    if (fail) return Status::FromErrno(EIO, std::string(op) + " " + path + " (injected)");
  }
  return Status::Ok();
}

void FaultInjectingFileSystem::NoteWrite(const std::string& path, uint64_t /*end_offset*/) {
  std::lock_guard lock(mu_);
  synced_size_.try_emplace(path, 0);
}

void FaultInjectingFileSystem::NoteSync(const std::string& path, uint64_t size) {
  std::lock_guard lock(mu_);
  synced_size_[path] = size;
}

Result<std::unique_ptr<File>> FaultInjectingFileSystem::OpenFile(const std::string& path, OpenMode mode) {
  RETURN_IF_ERROR(BeforeIo(path, IoKind::kMetadata, mode == OpenMode::kCreate, "open"));
  bool existed = target_->Exists(path);
  ASSIGN_OR_RETURN(auto file, target_->OpenFile(path, mode));
  if (mode != OpenMode::kRead) {
    std::lock_guard lock(mu_);
    if (!synced_size_.count(path)) {
      // A file that existed before is durable up to its current length.
      uint64_t size = 0;
      if (existed) {
        auto s = file->Size();
        if (s.ok()) size = *s;
      }
      synced_size_[path] = size;
    }
  }
  return std::unique_ptr<File>(new FaultFile(std::move(file), this));
}

Status FaultInjectingFileSystem::RemoveFile(const std::string& path) {
  RETURN_IF_ERROR(BeforeIo(path, IoKind::kMetadata, false, "unlink"));
  RETURN_IF_ERROR(target_->RemoveFile(path));
  std::lock_guard lock(mu_);
  synced_size_.erase(path);
  return Status::Ok();
}

Status FaultInjectingFileSystem::Rename(const std::string& from, const std::string& to) {
  RETURN_IF_ERROR(BeforeIo(from, IoKind::kMetadata, true, "rename"));
  RETURN_IF_ERROR(target_->Rename(from, to));
  std::lock_guard lock(mu_);
  auto it = synced_size_.find(from);
  if (it != synced_size_.end()) {
    synced_size_[to] = it->second;
    synced_size_.erase(it);
  }
  return Status::Ok();
}

Status FaultInjectingFileSystem::SyncDir(const std::string& path) {
  RETURN_IF_ERROR(BeforeIo(path, IoKind::kDeviceSync, false, "fsync dir"));
  return target_->SyncDir(path);
}

Result<DiskSpace> FaultInjectingFileSystem::GetDiskSpace(const std::string& path) {
  RETURN_IF_ERROR(BeforeIo(path, IoKind::kStat, false, "statvfs"));
  ASSIGN_OR_RETURN(DiskSpace space, target_->GetDiskSpace(path));
  if (GetFault(path).no_space) space.free_bytes = 0;
  return space;
}

Status FaultInjectingFileSystem::DropUnsyncedData() {
  std::map<std::string, uint64_t> sizes;
  {
    std::lock_guard lock(mu_);
    sizes = synced_size_;
  }
  for (const auto& [path, size] : sizes) {
    if (!target_->Exists(path)) continue;
    ASSIGN_OR_RETURN(auto file, target_->OpenFile(path, OpenMode::kReadWrite));
    ASSIGN_OR_RETURN(uint64_t now, file->Size());
    if (now > size) RETURN_IF_ERROR(file->Truncate(size));  // never extends a file truncated since
  }
  return Status::Ok();
}

}  // namespace strata
