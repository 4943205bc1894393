#include "block/server/read_cache.h"

#include <algorithm>
#include <cstring>

namespace strata::block {

class ReadCache::CachedReader : public LogReader {
 public:
  CachedReader(ReadCache* cache, std::shared_ptr<LogReader> file, uint64_t id)
      : cache_(cache), file_(std::move(file)), id_(id), size_(file_->size()) {}
  ~CachedReader() override { cache_->Forget(id_, (size_ + cache_->page_bytes_ - 1) / cache_->page_bytes_); }

  Status ReadExact(uint64_t offset, char* buf, size_t n) override {
    if (offset > size_ || n > size_ - offset) return file_->ReadExact(offset, buf, n);  // its error
    const uint64_t pb = cache_->page_bytes_;
    for (uint64_t pos = offset; pos < offset + n;) {
      const uint64_t page = pos / pb;
      auto bytes = cache_->Find({id_, page}, /*count=*/true);
      if (!bytes) {
        auto read = std::make_shared<std::string>(std::min(pb, size_ - page * pb), '\0');
        RETURN_IF_ERROR(file_->ReadExact(page * pb, read->data(), read->size()));
        cache_->Insert({id_, page}, read);
        bytes = std::move(read);
      }
      const uint64_t in_page = pos - page * pb;
      const uint64_t take = std::min<uint64_t>(bytes->size() - in_page, offset + n - pos);
      std::memcpy(buf + (pos - offset), bytes->data() + in_page, take);
      pos += take;
    }
    return Status::Ok();
  }

  bool ReadIfCached(uint64_t offset, char* buf, size_t n) override {
    if (offset > size_ || n > size_ - offset) return false;
    const uint64_t pb = cache_->page_bytes_;
    std::vector<std::shared_ptr<const std::string>> pages;
    for (uint64_t page = offset / pb; n > 0 && page <= (offset + n - 1) / pb; ++page) {
      auto bytes = cache_->Find({id_, page}, /*count=*/false);
      if (!bytes) return false;
      pages.push_back(std::move(bytes));
    }
    cache_->CountHits(pages.size());
    for (uint64_t pos = offset, i = 0; pos < offset + n; ++i) {
      const uint64_t in_page = pos % pb;
      const uint64_t take = std::min<uint64_t>(pages[i]->size() - in_page, offset + n - pos);
      std::memcpy(buf + (pos - offset), pages[i]->data() + in_page, take);
      pos += take;
    }
    return true;
  }

  uint64_t size() const override { return size_; }

 private:
  ReadCache* const cache_;
  const std::shared_ptr<LogReader> file_;
  const uint64_t id_;
  const uint64_t size_;
};

ReadCache::ReadCache(uint64_t capacity_bytes, uint32_t page_bytes)
    : capacity_bytes_(capacity_bytes), page_bytes_(std::max<uint32_t>(page_bytes, 4096)) {
  stats_.capacity_bytes = capacity_bytes_;
}

std::shared_ptr<LogReader> ReadCache::Wrap(std::shared_ptr<LogReader> file) {
  return std::make_shared<CachedReader>(this, std::move(file), next_reader_.fetch_add(1));
}

std::shared_ptr<LogReader> ReadCache::Wrap(std::shared_ptr<LogReader> file,
                                           const std::vector<std::shared_ptr<const std::string>>& pages) {
  const uint64_t id = next_reader_.fetch_add(1);
  const uint64_t size = file->size();
  auto reader = std::make_shared<CachedReader>(this, std::move(file), id);
  if (capacity_bytes_ == 0 || pages.size() != (size + page_bytes_ - 1) / page_bytes_) return reader;
  for (size_t i = 0; i < pages.size(); ++i) {
    const uint64_t want = std::min<uint64_t>(page_bytes_, size - i * page_bytes_);
    if (!pages[i] || pages[i]->size() != want) return reader;
  }
  // At most the cache's capacity, the file's end first: its newest bytes.
  const uint64_t fit = capacity_bytes_ / page_bytes_;
  for (uint64_t page = pages.size() > fit ? pages.size() - fit : 0; page < pages.size(); ++page) {
    Insert({id, page}, pages[page], /*primed=*/true);
  }
  return reader;
}

std::shared_ptr<const std::string> ReadCache::Find(const Key& key, bool count) {
  std::lock_guard lock(mu_);
  auto it = pages_.find(key);
  if (it == pages_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  if (count) stats_.hits++;
  return it->second->bytes;
}

void ReadCache::CountHits(uint64_t pages) {
  std::lock_guard lock(mu_);
  stats_.hits += pages;
}

void ReadCache::Insert(const Key& key, std::shared_ptr<const std::string> bytes, bool primed) {
  std::lock_guard lock(mu_);
  if (primed) {
    stats_.primed++;
  } else {
    stats_.misses++;
  }
  if (bytes->size() > capacity_bytes_ || pages_.contains(key)) return;
  while (!lru_.empty() && stats_.cached_bytes + bytes->size() > capacity_bytes_) {
    stats_.cached_bytes -= lru_.back().bytes->size();
    pages_.erase(lru_.back().key);
    lru_.pop_back();
    stats_.evictions++;
  }
  stats_.cached_bytes += bytes->size();
  lru_.push_front(Page{key, std::move(bytes)});
  pages_[key] = lru_.begin();
}

void ReadCache::Forget(uint64_t reader, uint64_t pages) {
  std::lock_guard lock(mu_);
  for (uint64_t page = 0; page < pages; ++page) {
    auto it = pages_.find({reader, page});
    if (it == pages_.end()) continue;
    stats_.cached_bytes -= it->second->bytes->size();
    lru_.erase(it->second);
    pages_.erase(it);
  }
}

ReadCacheStats ReadCache::stats() const {
  std::lock_guard lock(mu_);
  ReadCacheStats s = stats_;
  s.pages = pages_.size();
  return s;
}

}  // namespace strata::block
