// The interface between the NBD protocol server (nbd_server.h) and what
// serves the data of an export: in `strata nbd` a BlockClient volume routed
// to blockservers, in unit tests a memory volume.
//
// The server calls a Volume's operations with requests it has already
// checked (in range, aligned to block_size_min); each operation completes by
// calling its `done` exactly once, on any thread, possibly before the call
// returns. Several operations of one Volume may be in flight at once; their
// completions may come in any order.
//
// A `done` Status maps to the NBD error sent to the client (nbd_errors.h):
// InvalidArgument -> EINVAL, OutOfRange -> EINVAL/ENOSPC, NoSpace -> ENOSPC,
// NotSupported -> ENOTSUP, PermissionDenied -> EPERM, anything else -> EIO.
// A failed operation must not have changed data it reports as failed only
// when it truly did not apply; a write that may have applied is still EIO.
//
// Thread-safety: Backend and Volume implementations are thread-safe.
// Ownership: the server owns each Volume it opened (one per connection) and
// borrows the Backend, which must outlive the server. The server destroys a
// Volume, on a thread of its own, as soon as the done of each of its
// operations has been called: a Volume must not use its own members after
// calling a done.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace strata::block::nbd {

struct ExportInfo {
  std::string name;
  std::string description;
  uint64_t size_bytes = 0;
  bool read_only = false;
  uint32_t block_size_min = 512;             // NBD_INFO_BLOCK_SIZE minimum
  uint32_t block_size_preferred = 4096;      // preferred
  uint32_t block_size_max = 32u << 20;       // maximum payload of one request
  bool can_trim = true;
  bool can_write_zeroes = true;
  bool can_fast_zero = true;
  // FLUSH on any connection covers writes completed on every connection of
  // the export (NBD_FLAG_CAN_MULTI_CONN).
  bool multi_conn = true;
  // Writes are durable when acknowledged: FLUSH/FUA are still advertised
  // and honoured (NBD_FLAG_SEND_FLUSH, NBD_FLAG_SEND_FUA).
  bool send_flush = true;
};

// One run of the answer to NBD_CMD_BLOCK_STATUS for base:allocation.
struct Extent {
  uint32_t length = 0;
  bool hole = false;  // NBD_STATE_HOLE: not allocated
  bool zero = false;  // NBD_STATE_ZERO: reads as zeros
};

class Volume {
 public:
  using Done = std::function<void(Status)>;
  using ReadDone = std::function<void(Status, std::string data)>;
  using StatusDone = std::function<void(Status, std::vector<Extent>)>;

  virtual ~Volume() = default;
  virtual const ExportInfo& info() const = 0;

  // `data` of the reply has exactly `length` bytes when the status is OK.
  virtual void Read(uint64_t offset, uint32_t length, ReadDone done) = 0;
  // `fua`: durable before done (NBD_CMD_FLAG_FUA).
  virtual void Write(uint64_t offset, std::string data, bool fua, Done done) = 0;
  // Every write completed before this call is durable when done runs OK.
  virtual void Flush(Done done) = 0;
  virtual void Trim(uint64_t offset, uint32_t length, Done done) = 0;
  // `may_trim`: the range may be deallocated (no NBD_CMD_FLAG_NO_HOLE).
  // `fast_only`: NBD_CMD_FLAG_FAST_ZERO; fail with NotSupported unless the
  // zeroing is fast (no data written).
  virtual void WriteZeroes(uint64_t offset, uint32_t length, bool may_trim, bool fast_only, Done done) = 0;
  // Extents covering at least the first byte of [offset, offset+length) and
  // at most the whole range, in order, lengths summing to <= length.
  virtual void BlockStatus(uint64_t offset, uint32_t length, StatusDone done) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // NotFound for an unknown export name.
  virtual Result<std::unique_ptr<Volume>> Open(const std::string& name) = 0;
  // Every export, for NBD_OPT_LIST.
  virtual Result<std::vector<ExportInfo>> List() = 0;
};

}  // namespace strata::block::nbd
