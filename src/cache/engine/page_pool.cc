#include "cache/engine/page_pool.h"

#include <sys/mman.h>

#include <cerrno>

namespace strata::cache {

Result<std::unique_ptr<PagePool>> PagePool::Create(uint64_t limit_bytes) {
  if (limit_bytes < kPageSize) return Status::InvalidArgument("cache memory limit below 1 MiB");
  uint64_t pages = limit_bytes / kPageSize + 1;  // +1: page 0 is the null page
  if (pages > kMaxPages) return Status::InvalidArgument("cache memory limit above 32 GiB");
  size_t mapped = static_cast<size_t>(pages) << kPageShift;
  void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return Status::FromErrno(errno, "mmap cache arena");
  return std::unique_ptr<PagePool>(
      new PagePool(static_cast<char*>(p), mapped, limit_bytes, static_cast<uint32_t>(pages)));
}

PagePool::PagePool(char* base, size_t mapped, uint64_t limit, uint32_t max_pages)
    : base_(base), mapped_(mapped), limit_(limit), max_pages_(max_pages), info_(max_pages) {}

PagePool::~PagePool() { munmap(base_, mapped_); }

bool PagePool::Reserve(uint64_t bytes, bool force) {
  uint64_t cur = used_.load(std::memory_order_relaxed);
  while (true) {
    if (!force && cur + bytes > limit_) return false;
    if (used_.compare_exchange_weak(cur, cur + bytes, std::memory_order_relaxed)) return true;
  }
}

uint32_t PagePool::AllocPage() {
  if (!Reserve(kPageSize, false)) return kNoPage;
  uint32_t page = kNoPage;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!free_pages_.empty()) {
      page = free_pages_.back();
      free_pages_.pop_back();
    } else if (next_page_ < max_pages_) {
      page = next_page_++;
    }
  }
  if (page == kNoPage) {
    used_.fetch_sub(kPageSize, std::memory_order_relaxed);
    return kNoPage;
  }
  info_[page] = PageInfo{};
  pages_in_use_.fetch_add(1, std::memory_order_relaxed);
  return page;
}

void PagePool::FreePage(uint32_t page) {
  // Why DONTNEED: a merged or rebalanced page should give its RSS back now,
  // not when the pool happens to reuse it.
  madvise(PageAddr(page), kPageSize, MADV_DONTNEED);
  {
    std::lock_guard<std::mutex> lock(mu_);
    free_pages_.push_back(page);
  }
  pages_in_use_.fetch_sub(1, std::memory_order_relaxed);
  used_.fetch_sub(kPageSize, std::memory_order_relaxed);
}

bool PagePool::ChargeExternal(uint64_t bytes, bool force) {
  if (!Reserve(bytes, force)) return false;
  external_.fetch_add(bytes, std::memory_order_relaxed);
  return true;
}

void PagePool::ReleaseExternal(uint64_t bytes) {
  external_.fetch_sub(bytes, std::memory_order_relaxed);
  used_.fetch_sub(bytes, std::memory_order_relaxed);
}

}  // namespace strata::cache
