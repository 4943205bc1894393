#include "block/nbd/memory_volume.h"

#include <algorithm>
#include <cstring>

namespace strata::block::nbd {

// The pages of one export: page index -> kPageBytes of data. A missing page
// reads as zeros.
struct MemoryBackend::Export {
  explicit Export(ExportInfo i) : info(std::move(i)) {}

  const ExportInfo info;
  std::mutex mu;
  std::map<uint64_t, std::unique_ptr<char[]>> pages;  // GUARDED_BY(mu)
};

namespace {

constexpr uint64_t kPage = MemoryBackend::kPageBytes;
// Extents in one BLOCK_STATUS answer; the rest of the range is for the
// client's next request (nbd_backend.h allows a prefix).
constexpr size_t kExtentsMax = 4096;

class MemoryVolume final : public Volume {
 public:
  explicit MemoryVolume(std::shared_ptr<MemoryBackend::Export> e) : export_(std::move(e)) {}

  const ExportInfo& info() const override { return export_->info; }

  void Read(uint64_t offset, uint32_t length, ReadDone done) override {
    if (!InRange(offset, length)) return done(Status::OutOfRange("read past the end of the export"), {});
    std::string data(length, '\0');
    {
      std::lock_guard lock(export_->mu);
      ForEachPiece(offset, length, [&](uint64_t page, uint64_t in_page, uint64_t n, uint64_t at) {
        auto it = export_->pages.find(page);
        if (it != export_->pages.end()) std::memcpy(data.data() + at, it->second.get() + in_page, n);
      });
    }
    done(Status::Ok(), std::move(data));
  }

  void Write(uint64_t offset, std::string data, bool fua, Done done) override {
    if (Status st = CheckWrite(offset, data.size()); !st.ok()) return done(st);
    {
      std::lock_guard lock(export_->mu);
      ForEachPiece(offset, data.size(), [&](uint64_t page, uint64_t in_page, uint64_t n, uint64_t at) {
        std::memcpy(PageLocked(page) + in_page, data.data() + at, n);
      });
    }
    done(Status::Ok());
  }

  void Flush(Done done) override { done(Status::Ok()); }

  void Trim(uint64_t offset, uint32_t length, Done done) override {
    if (Status st = CheckWrite(offset, length); !st.ok()) return done(st);
    {
      std::lock_guard lock(export_->mu);
      DropLocked(offset, length);
    }
    done(Status::Ok());
  }

  void WriteZeroes(uint64_t offset, uint32_t length, bool may_trim, bool fast_only, Done done) override {
    if (Status st = CheckWrite(offset, length); !st.ok()) return done(st);
    if (!may_trim && fast_only) {
      return done(Status::NotSupported("zeroing without holes writes every page: not faster than a write"));
    }
    {
      std::lock_guard lock(export_->mu);
      if (may_trim) {
        DropLocked(offset, length);
      } else {
        ForEachPiece(offset, length, [&](uint64_t page, uint64_t in_page, uint64_t n, uint64_t) {
          std::memset(PageLocked(page) + in_page, 0, n);
        });
      }
    }
    done(Status::Ok());
  }

  void BlockStatus(uint64_t offset, uint32_t length, StatusDone done) override {
    if (!InRange(offset, length)) return done(Status::OutOfRange("block status past the end of the export"), {});
    std::vector<Extent> extents = ExtentsOf(offset, offset + length);
    done(Status::Ok(), std::move(extents));
  }

 private:
  // The allocation runs of [offset, end), at most kExtentsMax of them.
  std::vector<Extent> ExtentsOf(uint64_t offset, uint64_t end) {
    std::vector<Extent> extents;
    std::lock_guard lock(export_->mu);
    const auto& pages = export_->pages;
    uint64_t pos = offset;
    while (pos < end && extents.size() < kExtentsMax) {
      uint64_t page = pos / kPage;
      auto it = pages.lower_bound(page);
      uint64_t run_end;
      bool allocated = it != pages.end() && it->first == page;
      if (allocated) {
        uint64_t next = page;
        while (it != pages.end() && it->first == next) {
          ++next;
          ++it;
        }
        run_end = std::min(end, next * kPage);
      } else {
        run_end = it == pages.end() ? end : std::min(end, it->first * kPage);
      }
      extents.push_back({static_cast<uint32_t>(run_end - pos), !allocated, !allocated});
      pos = run_end;
    }
    return extents;
  }

  bool InRange(uint64_t offset, uint64_t length) const {
    return offset <= export_->info.size_bytes && length <= export_->info.size_bytes - offset;
  }

  Status CheckWrite(uint64_t offset, uint64_t length) const {
    if (export_->info.read_only) return Status::PermissionDenied("export '" + export_->info.name + "' is read-only");
    if (!InRange(offset, length)) return Status::OutOfRange("write past the end of the export");
    return Status::Ok();
  }

  // Calls fn(page, offset in page, bytes, offset in the range) for each
  // page-sized piece of [offset, offset + length).
  template <typename Fn>
  static void ForEachPiece(uint64_t offset, uint64_t length, Fn fn) {
    uint64_t at = 0;
    while (at < length) {
      uint64_t pos = offset + at;
      uint64_t in_page = pos % kPage;
      uint64_t n = std::min(kPage - in_page, length - at);
      fn(pos / kPage, in_page, n, at);
      at += n;
    }
  }

  // REQUIRES: export_->mu held.
  char* PageLocked(uint64_t page) {
    auto& slot = export_->pages[page];
    if (!slot) {
      slot = std::make_unique<char[]>(kPage);
      std::memset(slot.get(), 0, kPage);
    }
    return slot.get();
  }

  // Frees the pages [offset, offset + length) covers whole, zeroes the
  // parts of the others. REQUIRES: export_->mu held.
  void DropLocked(uint64_t offset, uint64_t length) {
    auto& pages = export_->pages;
    ForEachPiece(offset, length, [&](uint64_t page, uint64_t in_page, uint64_t n, uint64_t) {
      auto it = pages.find(page);
      if (it == pages.end()) return;
      if (n == kPage) {
        pages.erase(it);
      } else {
        std::memset(it->second.get() + in_page, 0, n);
      }
    });
  }

  std::shared_ptr<MemoryBackend::Export> export_;
};

}  // namespace

MemoryBackend::MemoryBackend() = default;
MemoryBackend::~MemoryBackend() = default;

Status MemoryBackend::AddExport(ExportInfo info) {
  std::lock_guard lock(mu_);
  if (exports_.count(info.name)) return Status::AlreadyExists("export '" + info.name + "' exists");
  std::string name = info.name;
  exports_.emplace(std::move(name), std::make_shared<Export>(std::move(info)));
  return Status::Ok();
}

Status MemoryBackend::AddExport(const std::string& name, uint64_t size_bytes, const std::string& description) {
  ExportInfo info;
  info.name = name;
  info.description = description;
  info.size_bytes = size_bytes;
  return AddExport(std::move(info));
}

Result<std::unique_ptr<Volume>> MemoryBackend::Open(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = exports_.find(name);
  if (it == exports_.end()) return Status::NotFound("unknown export '" + name + "'");
  return std::unique_ptr<Volume>(std::make_unique<MemoryVolume>(it->second));
}

Result<std::vector<ExportInfo>> MemoryBackend::List() {
  std::lock_guard lock(mu_);
  std::vector<ExportInfo> out;
  out.reserve(exports_.size());
  for (const auto& [name, e] : exports_) out.push_back(e->info);
  return out;
}

Result<uint64_t> MemoryBackend::AllocatedBytes(const std::string& name) const {
  std::shared_ptr<Export> e;
  {
    std::lock_guard lock(mu_);
    auto it = exports_.find(name);
    if (it == exports_.end()) return Status::NotFound("unknown export '" + name + "'");
    e = it->second;
  }
  std::lock_guard lock(e->mu);
  return static_cast<uint64_t>(e->pages.size()) * kPageBytes;
}

}  // namespace strata::block::nbd
