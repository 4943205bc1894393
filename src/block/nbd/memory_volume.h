// MemoryBackend: NBD exports kept in memory, for the NBD server's unit tests
// and the fuzzer (never the product, whose volumes live on blockservers).
//
// Each export is sparse: its data is held in 4 KiB pages allocated by the
// first write that touches them. TRIM and WRITE_ZEROES (unless NO_HOLE)
// free the pages they cover whole and zero the parts of pages they cover in
// part; BLOCK_STATUS reports unallocated ranges as hole+zero and allocated
// ones as data. WRITE_ZEROES with NO_HOLE allocates and zeroes, which is no
// faster than a write, so with FAST_ZERO it fails NotSupported as proto.md
// asks. Every operation completes before it returns. All volumes of one
// export share its pages, so writes are visible across connections at once
// (multi_conn) and FLUSH has nothing to do.
//
// Memory is bounded by the export sizes: at most size_bytes of pages each.
//
// Thread-safety: thread-safe. Ownership: volumes share their export's pages;
// the pages live while the backend or any volume of the export does.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "block/nbd/nbd_backend.h"

namespace strata::block::nbd {

class MemoryBackend final : public Backend {
 public:
  static constexpr uint32_t kPageBytes = 4096;

  MemoryBackend();
  ~MemoryBackend() override;

  // Adds an empty (all hole) export described by `info`. AlreadyExists for
  // a name in use.
  Status AddExport(ExportInfo info);
  // An export with the ExportInfo defaults (512-byte minimum block size).
  Status AddExport(const std::string& name, uint64_t size_bytes, const std::string& description = "");

  Result<std::unique_ptr<Volume>> Open(const std::string& name) override;
  Result<std::vector<ExportInfo>> List() override;

  // Bytes in the allocated pages of export `name`; NotFound if unknown.
  Result<uint64_t> AllocatedBytes(const std::string& name) const;

  struct Export;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Export>> exports_;  // GUARDED_BY(mu_)
};

}  // namespace strata::block::nbd
