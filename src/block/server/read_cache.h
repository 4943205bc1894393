// ReadCache: the blockserver's memory cache of closed (sealed) data files,
// shared by all its segments, so that a read of recently read data costs no
// dfs read (no chunkserver round trip, no thread hand-off).
//
// A closed data file never changes, so its bytes can be cached without any
// invalidation: Wrap() puts a LogReader in front of a closed file's reader
// that serves ReadExact() from fixed-size pages of the file, reading a
// missing page whole from the dfs and keeping it. Pages are evicted least
// recently used first once the cache holds capacity_bytes. Each wrapped
// reader has its own identity, so a file that is deleted, or a segment
// opened again (new readers), never finds another file's pages; a wrapped
// reader drops its pages when it is destroyed.
//
// ReadIfCached() is the same read without I/O: it copies the bytes only
// when every page they need is cached (the blockserver then answers the
// read on its RPC I/O thread).
//
// Thread-safety: thread-safe. Ownership: the cache must outlive every reader
// it wrapped; a wrapped reader shares ownership of the reader it wraps.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "block/server/log_file_store.h"

namespace strata::block {

struct ReadCacheStats {
  uint64_t capacity_bytes = 0;
  uint64_t cached_bytes = 0;
  uint64_t pages = 0;
  uint64_t hits = 0;       // pages found
  uint64_t misses = 0;     // pages read from the file
  uint64_t primed = 0;     // pages cached as their file was closed
  uint64_t evictions = 0;
};

class ReadCache {
 public:
  static constexpr uint32_t kDefaultPageBytes = 16u << 10;

  // capacity_bytes 0: nothing is cached (Wrap still works, and reads go to
  // the file every time).
  explicit ReadCache(uint64_t capacity_bytes, uint32_t page_bytes = kDefaultPageBytes);
  ReadCache(const ReadCache&) = delete;
  ReadCache& operator=(const ReadCache&) = delete;

  // A reader of the same closed file that reads through this cache.
  std::shared_ptr<LogReader> Wrap(std::shared_ptr<LogReader> file);
  // The same for a file whose bytes are at hand (one just written and
  // closed), in pages of page_bytes() (the last one may be short): they are
  // cached at once, as the most recently used and without a copy, so that
  // data read soon after it was written costs no dfs read. `pages` are
  // ignored unless they are the whole file in pages of page_bytes().
  std::shared_ptr<LogReader> Wrap(std::shared_ptr<LogReader> file,
                                  const std::vector<std::shared_ptr<const std::string>>& pages);

  uint32_t page_bytes() const { return page_bytes_; }

  ReadCacheStats stats() const;

 private:
  class CachedReader;
  struct Key {
    uint64_t reader = 0;
    uint64_t page = 0;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<uint64_t>()(k.reader * 0x9e3779b97f4a7c15ull ^ k.page); }
  };
  struct Page {
    Key key;
    std::shared_ptr<const std::string> bytes;
  };

  // The page (made the most recently used), or null; `count`: a hit is
  // counted.
  std::shared_ptr<const std::string> Find(const Key& key, bool count);
  void CountHits(uint64_t pages);
  // Counts a miss (unless `primed`: bytes known without a read); keeps the
  // page, evicting the least recently used ones.
  void Insert(const Key& key, std::shared_ptr<const std::string> bytes, bool primed = false);
  void Forget(uint64_t reader, uint64_t pages);

  const uint64_t capacity_bytes_;
  const uint32_t page_bytes_;
  std::atomic<uint64_t> next_reader_{1};

  mutable std::mutex mu_;
  std::list<Page> lru_;  // most recently used first
  std::unordered_map<Key, std::list<Page>::iterator, KeyHash> pages_;
  ReadCacheStats stats_;
};

}  // namespace strata::block
