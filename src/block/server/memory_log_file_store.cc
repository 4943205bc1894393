#include "block/server/memory_log_file_store.h"

namespace strata::block {

class MemoryAppender final : public LogAppender {
 public:
  MemoryAppender(MemoryLogFileStore* store, std::shared_ptr<MemoryLogFileStore::File> f, uint64_t epoch)
      : store_(store), file_(std::move(f)), epoch_(epoch), generation_(store->generation_) {}
  Status Append(std::string_view data) override {
    store_->WaitWhileHeld();
    if (store_->fail_appends_) return Status::Unavailable("appends fail (injected)");
    std::lock_guard lock(file_->mu);
    RETURN_IF_ERROR(CheckWriterLocked());
    if (file_->sealed) return Status::FailedPrecondition("file is sealed");
    file_->data.append(data);
    store_->bytes_appended_ += data.size();
    if (store_->land_unacked_.exchange(false)) return Status::Unavailable("append landed, acknowledgement lost (injected)");
    size_ = file_->data.size();
    if (file_->durability == dfs::DURABILITY_SYNC) file_->durable = size_;
    return Status::Ok();
  }
  Status Sync() override {
    store_->syncs_++;
    std::lock_guard lock(file_->mu);
    RETURN_IF_ERROR(CheckWriterLocked());
    file_->durable = file_->data.size();
    return Status::Ok();
  }
  Status Close() override {
    std::lock_guard lock(file_->mu);
    RETURN_IF_ERROR(CheckWriterLocked());
    file_->sealed = true;
    file_->durable = file_->data.size();  // a seal syncs
    return Status::Ok();
  }
  uint64_t size() const override { return size_; }

 private:
  // REQUIRES: file_->mu held.
  Status CheckWriterLocked() const {
    if (store_->generation_ != generation_) return Status::Aborted("the writer died in a crash of the store");
    if (file_->writer_epoch != epoch_) return Status::StaleEpoch("a newer writer owns the file");
    return Status::Ok();
  }

  MemoryLogFileStore* store_;
  std::shared_ptr<MemoryLogFileStore::File> file_;
  uint64_t epoch_;
  const uint64_t generation_;  // the store's crash count when the file was created
  uint64_t size_ = 0;
};

namespace {

class MemoryReader final : public LogReader {
 public:
  explicit MemoryReader(std::string data) : data_(std::move(data)) {}
  Status ReadExact(uint64_t offset, char* buf, size_t n) override {
    if (offset + n > data_.size()) return Status::OutOfRange("read past the end");
    std::copy_n(data_.data() + offset, n, buf);
    return Status::Ok();
  }
  uint64_t size() const override { return data_.size(); }

 private:
  std::string data_;  // a sealed file does not change: a copy is the file
};

std::string Parent(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

}  // namespace

void MemoryLogFileStore::HoldAppends(bool hold) {
  std::lock_guard lock(hold_mu_);
  hold_ = hold;
  hold_cv_.notify_all();
}

size_t MemoryLogFileStore::held_appends() {
  std::lock_guard lock(hold_mu_);
  return held_;
}

void MemoryLogFileStore::WaitWhileHeld() {
  std::unique_lock lock(hold_mu_);
  held_++;
  hold_cv_.wait(lock, [&] { return !hold_; });
  held_--;
}

Status MemoryLogFileStore::MakeDirs(const std::string& dir) {
  std::lock_guard lock(mu_);
  dirs_[dir] = true;
  return Status::Ok();
}

Result<std::vector<LogFileEntry>> MemoryLogFileStore::List(const std::string& dir) {
  std::lock_guard lock(mu_);
  if (!dirs_.count(dir)) return Status::NotFound(dir);
  std::vector<LogFileEntry> out;
  for (const auto& [path, f] : files_) {
    if (Parent(path) != dir) continue;
    std::lock_guard flock(f->mu);
    out.push_back({path.substr(dir.size() + 1), f->data.size()});
  }
  return out;
}

Result<std::unique_ptr<LogAppender>> MemoryLogFileStore::Create(const std::string& path, dfs::Durability durability) {
  std::lock_guard lock(mu_);
  if (!dirs_.count(Parent(path))) return Status::NotFound("no directory for " + path);
  if (files_.count(path)) return Status::AlreadyExists(path);
  auto f = std::make_shared<File>();
  f->durability = durability;
  f->writer_epoch = 1;
  files_[path] = f;
  return std::unique_ptr<LogAppender>(std::make_unique<MemoryAppender>(this, f, 1));
}

Status MemoryLogFileStore::Fence(const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return Status::NotFound(path);
  std::lock_guard flock(it->second->mu);
  it->second->writer_epoch++;
  it->second->sealed = true;
  it->second->durable = it->second->data.size();  // a seal syncs what the replicas hold
  return Status::Ok();
}

Result<std::shared_ptr<LogReader>> MemoryLogFileStore::OpenReader(const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return Status::NotFound(path);
  std::lock_guard flock(it->second->mu);
  return std::shared_ptr<LogReader>(std::make_shared<MemoryReader>(it->second->data));
}

Status MemoryLogFileStore::Delete(const std::string& path) {
  std::lock_guard lock(mu_);
  files_.erase(path);
  return Status::Ok();
}

Status MemoryLogFileStore::Rename(const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  auto it = files_.find(from);
  if (it == files_.end()) return Status::NotFound(from);
  files_[to] = it->second;
  files_.erase(from);
  return Status::Ok();
}

std::string MemoryLogFileStore::Contents(const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return "";
  std::lock_guard flock(it->second->mu);
  return it->second->data;
}

void MemoryLogFileStore::AppendRaw(const std::string& path, const std::string& bytes) {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return;
  std::lock_guard flock(it->second->mu);
  it->second->data.append(bytes);
}

void MemoryLogFileStore::Corrupt(const std::string& path, uint64_t offset, char byte) {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return;
  std::lock_guard flock(it->second->mu);
  if (offset < it->second->data.size()) it->second->data[offset] = byte;
}

uint64_t MemoryLogFileStore::SimulateCrash(Random* rng) {
  std::lock_guard lock(mu_);
  generation_++;
  uint64_t lost = 0;
  for (const auto& [path, f] : files_) {
    std::lock_guard flock(f->mu);
    const uint64_t at_risk = f->data.size() - f->durable;
    if (at_risk == 0) continue;
    // A third of the crashes keep none of it, a third all, a third a cut
    // anywhere (almost always inside a record).
    const uint64_t draw = rng->Uniform(3);
    const uint64_t kept = draw == 0 ? 0 : draw == 1 ? at_risk : rng->Uniform(at_risk + 1);
    lost += at_risk - kept;
    f->data.resize(f->durable + kept);
    f->durable = f->data.size();
  }
  return lost;
}

size_t MemoryLogFileStore::file_count() {
  std::lock_guard lock(mu_);
  return files_.size();
}

}  // namespace strata::block
