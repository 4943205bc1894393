#include "env/fault/crash_file_system.h"

#include <algorithm>
#include <filesystem>

namespace strata {
namespace {

std::string ParentOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string(".") : slash == 0 ? std::string("/") : path.substr(0, slash);
}

std::string WithoutTrailingSlash(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

class CrashFile final : public File {
 public:
  CrashFile(std::unique_ptr<File> target, CrashableFileSystem* fs, uint64_t generation)
      : target_(std::move(target)), fs_(fs), generation_(generation) {}

  Result<size_t> ReadAt(uint64_t offset, void* buf, size_t n) override {
    return fs_->FileRead(target_.get(), generation_, offset, buf, n);
  }
  Status WriteAt(uint64_t offset, const void* buf, size_t n) override {
    return fs_->FileWrite(target_.get(), generation_, offset, buf, n);
  }
  void DropCache(uint64_t offset, uint64_t n) override { target_->DropCache(offset, n); }
  Status Sync() override { return fs_->FileSync(target_.get(), generation_); }
  Status Truncate(uint64_t size) override { return fs_->FileTruncate(target_.get(), generation_, size); }
  Result<uint64_t> Size() override { return fs_->FileSize(target_.get(), generation_); }
  const std::string& path() const override { return target_->path(); }

 private:
  std::unique_ptr<File> target_;
  CrashableFileSystem* fs_;
  const uint64_t generation_;
};

Result<std::string> ReadAll(File* f) {
  ASSIGN_OR_RETURN(uint64_t size, f->Size());
  std::string out(size, '\0');
  ASSIGN_OR_RETURN(size_t got, f->ReadAt(0, out.data(), out.size()));
  out.resize(got);
  return out;
}

}  // namespace

uint64_t CrashableFileSystem::crash_count() const {
  std::lock_guard lock(mu_);
  return generation_;
}

Status CrashableFileSystem::CheckLive(uint64_t generation) const {
  if (generation != generation_) return Status::Aborted("file handle from before a simulated crash");
  return Status::Ok();
}

Result<std::unique_ptr<File>> CrashableFileSystem::OpenFile(const std::string& path, OpenMode mode) {
  std::lock_guard lock(mu_);
  const bool existed = target_->Exists(path);
  ASSIGN_OR_RETURN(std::unique_ptr<File> f, target_->OpenFile(path, mode));
  if (!files_.count(path)) {
    // A file the wrapper has not seen (or not since a crash) is durable as it is.
    ASSIGN_OR_RETURN(uint64_t size, f->Size());
    FileState st;
    st.synced_size = st.min_size = size;
    files_[path] = std::move(st);
  }
  if (!existed) entries_.push_back(Entry{Entry::Kind::kCreate, path, std::nullopt, std::nullopt, {ParentOf(path)}});
  return std::unique_ptr<File>(std::make_unique<CrashFile>(std::move(f), this, generation_));
}

CrashableFileSystem::FileState& CrashableFileSystem::StateOf(File* f) {
  auto it = files_.find(f->path());
  if (it != files_.end()) return it->second;
  // Opened before a rename that the wrapper could not follow: treat as synced.
  FileState st;
  st.synced_size = st.min_size = f->Size().value_or(0);
  return files_[f->path()] = std::move(st);
}

Status CrashableFileSystem::CaptureSector(File* f, FileState& st, uint64_t sector, bool written) {
  auto it = st.shadows.find(sector);
  if (it != st.shadows.end()) {
    it->second.written |= written;
    return Status::Ok();
  }
  Shadow sh;
  sh.written = written;
  const uint64_t start = sector * kCrashSectorBytes;
  if (start < st.synced_size) {
    sh.synced.resize(std::min(start + kCrashSectorBytes, st.synced_size) - start);
    ASSIGN_OR_RETURN(size_t got, f->ReadAt(start, sh.synced.data(), sh.synced.size()));
    sh.synced.resize(got);
  }
  st.shadows.emplace(sector, std::move(sh));
  return Status::Ok();
}

Result<size_t> CrashableFileSystem::FileRead(File* f, uint64_t generation, uint64_t offset, void* buf, size_t n) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(CheckLive(generation));
  return f->ReadAt(offset, buf, n);
}

Status CrashableFileSystem::FileWrite(File* f, uint64_t generation, uint64_t offset, const void* buf, size_t n) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(CheckLive(generation));
  if (n == 0) return f->WriteAt(offset, buf, n);
  FileState& st = StateOf(f);
  for (uint64_t s = offset / kCrashSectorBytes; s <= (offset + n - 1) / kCrashSectorBytes; ++s) {
    RETURN_IF_ERROR(CaptureSector(f, st, s, /*written=*/true));
  }
  return f->WriteAt(offset, buf, n);
}

Status CrashableFileSystem::FileSync(File* f, uint64_t generation) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(CheckLive(generation));
  RETURN_IF_ERROR(f->Sync());
  ASSIGN_OR_RETURN(uint64_t size, f->Size());
  FileState& st = StateOf(f);
  st = FileState{};
  st.synced_size = st.min_size = size;
  return Status::Ok();
}

Status CrashableFileSystem::FileTruncate(File* f, uint64_t generation, uint64_t size) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(CheckLive(generation));
  ASSIGN_OR_RETURN(uint64_t cur, f->Size());
  FileState& st = StateOf(f);
  const uint64_t cut_end = std::min(cur, st.synced_size);
  for (uint64_t s = size / kCrashSectorBytes; size < cut_end && s * kCrashSectorBytes < cut_end; ++s) {
    RETURN_IF_ERROR(CaptureSector(f, st, s, /*written=*/false));
  }
  st.truncated = true;
  st.min_size = std::min(st.min_size, size);
  st.truncate_size = size;
  return f->Truncate(size);
}

Result<uint64_t> CrashableFileSystem::FileSize(File* f, uint64_t generation) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(CheckLive(generation));
  return f->Size();
}

Result<std::string> CrashableFileSystem::SyncedImage(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<File> f, target_->OpenFile(path, OpenMode::kRead));
  ASSIGN_OR_RETURN(std::string bytes, ReadAll(f.get()));
  auto it = files_.find(path);
  if (it == files_.end()) return bytes;
  const FileState& st = it->second;
  bytes.resize(st.synced_size, '\0');
  for (const auto& [sector, sh] : st.shadows) {
    const uint64_t start = sector * kCrashSectorBytes;
    if (start < bytes.size()) bytes.replace(start, sh.synced.size(), sh.synced);
  }
  return bytes;
}

Status CrashableFileSystem::CreateDirs(const std::string& path) {
  std::lock_guard lock(mu_);
  // The directories this call creates, outermost first.
  std::vector<std::string> created;
  for (std::string dir = WithoutTrailingSlash(path); !dir.empty() && dir != "/" && dir != "." && !target_->Exists(dir);
       dir = ParentOf(dir)) {
    created.insert(created.begin(), dir);
  }
  RETURN_IF_ERROR(target_->CreateDirs(path));
  for (const std::string& dir : created) {
    entries_.push_back(Entry{Entry::Kind::kMakeDir, dir, std::nullopt, std::nullopt, {ParentOf(dir)}});
  }
  return Status::Ok();
}

Status CrashableFileSystem::RemoveFile(const std::string& path) {
  std::lock_guard lock(mu_);
  // A file created since the last sync of its directory leaves no trace.
  auto create = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return e.kind == Entry::Kind::kCreate && e.path == path && !e.replaced;
  });
  std::optional<std::string> image;
  if (create == entries_.end() && target_->Exists(path)) {
    ASSIGN_OR_RETURN(image, SyncedImage(path));
  }
  RETURN_IF_ERROR(target_->RemoveFile(path));
  files_.erase(path);
  if (create != entries_.end()) {
    entries_.erase(create);
  } else if (image) {
    entries_.push_back(Entry{Entry::Kind::kRemove, path, std::nullopt, std::move(image), {ParentOf(path)}});
  }
  return Status::Ok();
}

Status CrashableFileSystem::Rename(const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  std::optional<std::string> replaced;
  if (target_->Exists(to)) {
    ASSIGN_OR_RETURN(replaced, SyncedImage(to));
  }
  RETURN_IF_ERROR(target_->Rename(from, to));
  files_.erase(to);
  if (auto node = files_.extract(from)) {
    node.key() = to;
    files_.insert(std::move(node));
  }
  for (Entry& e : entries_) {
    if (e.kind == Entry::Kind::kCreate && e.path == from) {  // an unsynced create moves with its file
      e.path = to;
      e.dirs = {ParentOf(to)};
      e.replaced = replaced;
      return Status::Ok();
    }
  }
  entries_.push_back(Entry{Entry::Kind::kRename, to, from, std::move(replaced), {ParentOf(from), ParentOf(to)}});
  return Status::Ok();
}

Status CrashableFileSystem::SyncDir(const std::string& path) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(target_->SyncDir(path));
  const std::string dir = WithoutTrailingSlash(path);
  for (Entry& e : entries_) e.dirs.erase(dir);
  std::erase_if(entries_, [](const Entry& e) { return e.dirs.empty(); });
  return Status::Ok();
}

Status CrashableFileSystem::SimulateCrash(Random* rng) {
  return Crash([rng] { return rng->Bernoulli(0.5); });
}

Status CrashableFileSystem::DropAllUnsynced() {
  return Crash([] { return false; });
}

Status CrashableFileSystem::Crash(const Keep& keep) {
  std::lock_guard lock(mu_);
  ++generation_;
  for (auto& [path, st] : files_) {
    if (target_->Exists(path)) RETURN_IF_ERROR(RevertFile(path, st, keep));
  }
  files_.clear();
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (!keep()) RETURN_IF_ERROR(UndoEntry(*it));
  }
  entries_.clear();
  return Status::Ok();
}

// Reverted sectors get their synced bytes back (a hole past them); the file
// ends at its synced size (or the kept truncate) or at the last kept sector.
Status CrashableFileSystem::RevertFile(const std::string& path, FileState& st, const Keep& keep) {
  if (st.shadows.empty() && !st.truncated) return Status::Ok();
  ASSIGN_OR_RETURN(std::unique_ptr<File> f, target_->OpenFile(path, OpenMode::kReadWrite));
  ASSIGN_OR_RETURN(uint64_t cur, f->Size());
  const bool truncate_kept = st.truncated && keep();
  const uint64_t clip = truncate_kept ? st.min_size : st.synced_size;  // synced bytes left to restore
  uint64_t final_size = truncate_kept ? std::min(st.truncate_size, cur) : st.synced_size;
  std::vector<uint64_t> reverted;
  for (const auto& [sector, sh] : st.shadows) {
    const bool kept = sh.written ? keep() : truncate_kept;
    if (kept) {
      final_size = std::max(final_size, std::min((sector + 1) * kCrashSectorBytes, cur));
    } else {
      reverted.push_back(sector);
    }
  }
  for (uint64_t sector : reverted) {
    const uint64_t start = sector * kCrashSectorBytes;
    std::string bytes(kCrashSectorBytes, '\0');
    const std::string& synced = st.shadows[sector].synced;
    if (start < clip) bytes.replace(0, std::min<uint64_t>(synced.size(), clip - start), synced);
    RETURN_IF_ERROR(f->WriteAt(start, bytes.data(), bytes.size()));
  }
  RETURN_IF_ERROR(f->Truncate(final_size));
  return f->Sync();
}

Status CrashableFileSystem::UndoEntry(const Entry& e) {
  switch (e.kind) {
    case Entry::Kind::kRename:
      if (target_->Exists(e.path)) RETURN_IF_ERROR(target_->Rename(e.path, *e.from));
      break;
    case Entry::Kind::kCreate:
      if (target_->Exists(e.path)) RETURN_IF_ERROR(target_->RemoveFile(e.path));
      break;
    case Entry::Kind::kRemove:
      // A newer file that kept this name wins.
      if (target_->Exists(e.path)) return Status::Ok();
      break;
    case Entry::Kind::kMakeDir: {
      std::error_code ec;
      std::filesystem::remove_all(e.path, ec);
      if (ec) return Status::FromErrno(ec.value(), "undo mkdir " + e.path);
      return Status::Ok();
    }
  }
  if (e.replaced) {
    ASSIGN_OR_RETURN(std::unique_ptr<File> f, target_->OpenFile(e.path, OpenMode::kCreate));
    RETURN_IF_ERROR(f->Truncate(0));
    RETURN_IF_ERROR(f->WriteAt(0, e.replaced->data(), e.replaced->size()));
    RETURN_IF_ERROR(f->Sync());
  }
  return Status::Ok();
}

}  // namespace strata
