#include "block/server/segment.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <future>

#include "block/server/log_record.h"
#include "common/crc32c.h"
#include "common/logging.h"

namespace strata::block {
namespace {

constexpr char kLogPrefix[] = "log-";
constexpr char kCheckpointPrefix[] = "ckpt-";
constexpr char kTmpSuffix[] = ".tmp";
constexpr uint32_t kCheckpointMagic = 0x4b434253;  // "SBCK"
constexpr uint32_t kCheckpointVersion = 1;
constexpr size_t kCheckpointHeaderBytes = 4 + 4 + 4 + 4 + 8;  // magic, version, block size, replay_from, next_lsn
constexpr uint32_t kTrimRecordBlocksMax = 1u << 30;

// "log-0000000042" -> 42; false for any other name.
bool ParseSeq(const std::string& name, const char* prefix, uint32_t* seq) {
  size_t plen = std::strlen(prefix);
  if (name.size() != plen + 10 || name.compare(0, plen, prefix) != 0) return false;
  uint64_t v = 0;
  for (size_t i = plen; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  if (v > UINT32_MAX) return false;
  *seq = static_cast<uint32_t>(v);
  return true;
}

template <typename T>
void PutRaw(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <typename T>
T GetRaw(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

Segment::Segment(LogFileStore* store, std::string dir, SegmentOptions options, ReadCache* cache)
    : store_(store), cache_(cache), dir_(std::move(dir)), options_(options), index_(options.block_size),
      buffer_(cache ? cache->page_bytes() : ReadCache::kDefaultPageBytes) {}

Segment::DataFile Segment::OpenedFile(std::shared_ptr<LogReader> reader,
                                      const std::vector<std::shared_ptr<const std::string>>& pages) const {
  DataFile f;
  f.size = reader->size();
  f.cached = cache_ ? cache_->Wrap(reader, pages) : reader;
  f.reader = std::move(reader);
  return f;
}

Segment::~Segment() { Close(); }

std::string Segment::PathOf(const std::string& prefix, uint32_t seq) const {
  char name[32];
  std::snprintf(name, sizeof name, "%s%010" PRIu32, prefix.c_str(), seq);
  return dir_ + "/" + name;
}

Result<std::unique_ptr<Segment>> Segment::Open(LogFileStore* store, std::string dir, SegmentOptions options,
                                               ReadCache* cache) {
  if (options.block_size == 0 || options.size_bytes % options.block_size != 0) {
    return Status::InvalidArgument("segment size must be a multiple of the block size");
  }
  std::unique_ptr<Segment> seg(new Segment(store, std::move(dir), options, cache));
  RETURN_IF_ERROR(seg->Recover());
  seg->writer_ = std::thread([s = seg.get()] { s->WriterLoop(); });
  return seg;
}

Status Segment::Recover() {
  RETURN_IF_ERROR(store_->MakeDirs(dir_));
  ASSIGN_OR_RETURN(auto entries, store_->List(dir_));
  std::map<uint32_t, uint64_t> logs;
  std::vector<uint32_t> checkpoints;
  for (const auto& e : entries) {
    uint32_t seq = 0;
    if (ParseSeq(e.name, kLogPrefix, &seq)) {
      logs[seq] = e.size;
    } else if (ParseSeq(e.name, kCheckpointPrefix, &seq)) {
      checkpoints.push_back(seq);
    } else if (e.name.ends_with(kTmpSuffix)) {
      RETURN_IF_ERROR(store_->Delete(dir_ + "/" + e.name));  // a checkpoint cut short
    }
  }
  // The newest checkpoint that reads back whole.
  std::sort(checkpoints.rbegin(), checkpoints.rend());
  uint32_t replay_from = 0;
  for (uint32_t seq : checkpoints) {
    auto reader = store_->OpenReader(PathOf(kCheckpointPrefix, seq));
    if (!reader.ok()) continue;
    std::string bytes((*reader)->size(), '\0');
    if (bytes.size() < kCheckpointHeaderBytes + 4 || !(*reader)->ReadExact(0, bytes.data(), bytes.size()).ok()) {
      spdlog::warn("segment {}: checkpoint {} is unreadable; trying an older one", dir_, seq);
      continue;
    }
    uint32_t crc = GetRaw<uint32_t>(bytes.data() + bytes.size() - 4);
    if (Crc32c(bytes.data(), bytes.size() - 4) != crc || GetRaw<uint32_t>(bytes.data()) != kCheckpointMagic ||
        GetRaw<uint32_t>(bytes.data() + 4) != kCheckpointVersion ||
        GetRaw<uint32_t>(bytes.data() + 8) != options_.block_size) {
      spdlog::warn("segment {}: checkpoint {} is corrupt; trying an older one", dir_, seq);
      continue;
    }
    auto index = SegmentIndex::Parse(
        std::string_view(bytes).substr(kCheckpointHeaderBytes, bytes.size() - kCheckpointHeaderBytes - 4),
        options_.block_size);
    if (!index.ok()) {
      spdlog::warn("segment {}: checkpoint {}: {}", dir_, seq, index.status().ToString());
      continue;
    }
    replay_from = GetRaw<uint32_t>(bytes.data() + 12);
    next_lsn_ = GetRaw<uint64_t>(bytes.data() + 16);
    index_ = std::move(*index);
    last_checkpoint_bytes_ = bytes.size();
    break;
  }
  // Files the checkpoint covers are read as they are; the others are
  // fenced (the old owner can append no more) and replayed.
  for (const auto& [seq, size] : logs) {
    std::string path = PathOf(kLogPrefix, seq);
    if (seq < replay_from) {
      if (index_.live_blocks_in(seq) == 0) {
        RETURN_IF_ERROR(store_->Delete(path));  // dead, its deletion was cut short
        continue;
      }
      ASSIGN_OR_RETURN(auto reader, store_->OpenReader(path));
      files_[seq] = OpenedFile(std::move(reader));
      continue;
    }
    RETURN_IF_ERROR(store_->Fence(path).WithContext("fence " + path));
    RETURN_IF_ERROR(Replay(seq, path, size));
  }
  for (uint32_t seq : checkpoints) {
    if (seq != replay_from) RETURN_IF_ERROR(store_->Delete(PathOf(kCheckpointPrefix, seq)));
  }
  current_ = logs.empty() ? std::max<uint32_t>(replay_from, 1) : std::max(logs.rbegin()->first + 1, replay_from);
  return StartNewFile();
}

Status Segment::Replay(uint32_t seq, const std::string& path, uint64_t) {
  ASSIGN_OR_RETURN(auto reader, store_->OpenReader(path));
  std::string bytes(reader->size(), '\0');
  RETURN_IF_ERROR(reader->ReadExact(0, bytes.data(), bytes.size()));
  size_t pos = 0;
  while (pos < bytes.size()) {
    auto header = ParseLogRecord(std::string_view(bytes).substr(pos));
    if (!header.ok()) {
      // The tail of an append the old owner never saw acknowledged.
      spdlog::info("segment {}: {} ends at {} of {} bytes: {}", dir_, path, pos, bytes.size(),
                   header.status().ToString());
      break;
    }
    const LogRecordHeader& h = *header;
    if (h.kind == LogRecordKind::kTrim) {
      index_.Erase(h.first_block, h.block_count);
    } else {
      IndexExtent e;
      e.count = h.block_count;
      e.file = seq;
      e.data_offset = pos + kLogRecordHeaderBytes;
      if (h.flags & kLogRecordLz4) {
        e.compressed = true;
        e.payload_len = h.payload_len;
        e.record_blocks = h.block_count;
        e.record_crc = h.raw_crc;
      }
      index_.Set(h.first_block, e);
    }
    next_lsn_ = std::max(next_lsn_, h.lsn + 1);
    stats_.replayed_records++;
    logged_since_checkpoint_ += kLogRecordHeaderBytes + h.payload_len;
    pos += kLogRecordHeaderBytes + h.payload_len;
  }
  files_[seq] = OpenedFile(std::move(reader));
  return Status::Ok();
}

Status Segment::StartNewFile() {
  std::string path = PathOf(kLogPrefix, current_);
  ASSIGN_OR_RETURN(appender_, store_->Create(path, options_.durability));
  std::lock_guard lock(mu_);
  files_[current_] = DataFile{};
  buffer_.Clear();
  return Status::Ok();
}

void Segment::Close() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (appender_) {
    Status st = appender_->Close();
    if (!st.ok()) spdlog::warn("segment {}: closing the open data file: {}", dir_, st.ToString());
    appender_.reset();
  }
}

Status Segment::CheckRange(uint64_t offset, uint64_t length) const {
  uint32_t bs = options_.block_size;
  if (offset % bs != 0 || length % bs != 0) {
    return Status::InvalidArgument("offset and length must be multiples of " + std::to_string(bs));
  }
  if (offset > options_.size_bytes || length > options_.size_bytes - offset) {
    return Status::OutOfRange("request beyond the end of the segment");
  }
  return Status::Ok();
}

Status Segment::Submit(std::unique_ptr<Op> op) {
  std::promise<Status> result;
  std::future<Status> done = result.get_future();
  op->done = [&result](Status st) { result.set_value(std::move(st)); };
  {
    std::unique_lock lock(mu_);
    size_t bytes = op->data.size();
    cv_.wait(lock, [&] {
      return stopping_ || !failed_.ok() || queued_bytes_ == 0 || queued_bytes_ + bytes <= options_.queue_bytes_max;
    });
    if (!failed_.ok()) return failed_;
    if (stopping_) return Status::Unavailable("segment " + dir_ + " is closing");
    queued_bytes_ += bytes;
    queue_.push_back(std::move(op));
  }
  cv_.notify_all();
  return done.get();
}

void Segment::SubmitAsync(std::unique_ptr<Op> op) {
  Status refused;
  {
    std::lock_guard lock(mu_);
    if (!failed_.ok()) {
      refused = failed_;
    } else if (stopping_) {
      refused = Status::Unavailable("segment " + dir_ + " is closing");
    } else {
      queued_bytes_ += op->data.size();
      queue_.push_back(std::move(op));
    }
  }
  if (!refused.ok()) {
    op->done(std::move(refused));
    return;
  }
  cv_.notify_all();
}

Status Segment::SubmitAllAndWait(std::vector<std::unique_ptr<Op>> ops) {
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    size_t left = 0;
    Status first_error;
  };
  auto waiter = std::make_shared<Waiter>();
  waiter->left = ops.size();
  for (auto& op : ops) {
    op->done = [waiter](Status st) {
      std::lock_guard lock(waiter->mu);
      if (!st.ok() && waiter->first_error.ok()) waiter->first_error = std::move(st);
      if (--waiter->left == 0) waiter->cv.notify_all();
    };
  }
  // All queued at once, so that the writer takes them in one batch.
  Status refused;
  {
    std::lock_guard lock(mu_);
    if (!failed_.ok()) {
      refused = failed_;
    } else if (stopping_) {
      refused = Status::Unavailable("segment " + dir_ + " is closing");
    } else {
      for (auto& op : ops) {
        queued_bytes_ += op->data.size();
        queue_.push_back(std::move(op));
      }
    }
  }
  if (!refused.ok()) return refused;
  cv_.notify_all();
  std::unique_lock lock(waiter->mu);
  waiter->cv.wait(lock, [&] { return waiter->left == 0; });
  return waiter->first_error;
}

Status Segment::Write(uint64_t offset, std::string_view data) {
  RETURN_IF_ERROR(CheckRange(offset, data.size()));
  if (data.empty()) return Status::Ok();
  auto op = std::make_unique<Op>();
  op->kind = OpKind::kWrite;
  op->block = offset / options_.block_size;
  op->count = data.size() / options_.block_size;
  op->data.assign(data);
  return Submit(std::move(op));
}

void Segment::WriteAsync(uint64_t offset, std::string data, Done done) {
  Status st = CheckRange(offset, data.size());
  if (!st.ok() || data.empty()) return done(std::move(st));
  auto op = std::make_unique<Op>();
  op->kind = OpKind::kWrite;
  op->block = offset / options_.block_size;
  op->count = data.size() / options_.block_size;
  op->data = std::move(data);
  op->done = std::move(done);
  SubmitAsync(std::move(op));
}

Status Segment::Sync() {
  if (options_.durability != dfs::DURABILITY_MEMORY) return Status::Ok();
  auto op = std::make_unique<Op>();
  op->kind = OpKind::kSync;
  return Submit(std::move(op));
}

void Segment::SyncAsync(Done done) {
  if (options_.durability != dfs::DURABILITY_MEMORY) return done(Status::Ok());
  auto op = std::make_unique<Op>();
  op->kind = OpKind::kSync;
  op->done = std::move(done);
  SubmitAsync(std::move(op));
}

Status Segment::Trim(uint64_t offset, uint64_t length) {
  RETURN_IF_ERROR(CheckRange(offset, length));
  if (length == 0) return Status::Ok();
  auto op = std::make_unique<Op>();
  op->kind = OpKind::kTrim;
  op->block = offset / options_.block_size;
  op->count = length / options_.block_size;
  return Submit(std::move(op));
}

void Segment::TrimAsync(uint64_t offset, uint64_t length, Done done) {
  Status st = CheckRange(offset, length);
  if (!st.ok() || length == 0) return done(std::move(st));
  auto op = std::make_unique<Op>();
  op->kind = OpKind::kTrim;
  op->block = offset / options_.block_size;
  op->count = length / options_.block_size;
  op->done = std::move(done);
  SubmitAsync(std::move(op));
}

void Segment::EncodeWrite(uint64_t block, std::string_view blocks) {
  uint32_t bs = options_.block_size;
  while (!blocks.empty()) {
    size_t n = std::min<size_t>(blocks.size(), kLogRecordBlockBytesMax / bs * bs);
    size_t start = batch_.size();
    // Data that did not compress is not tried again for a while (1, 3, 7
    // ... up to 63 records while it keeps failing): random or encrypted
    // blocks then cost no compression, and compressible ones are found
    // again within 64 records.
    const bool try_compress = options_.compress && compress_skip_ == 0;
    if (compress_skip_ > 0) compress_skip_--;
    LogRecordHeader h = AppendWriteRecord(next_lsn_++, block, bs, blocks.substr(0, n), try_compress, &batch_);
    if (try_compress) {
      compress_tried_in_batch_++;
      incompressible_streak_ = (h.flags & kLogRecordLz4) ? 0 : std::min<uint32_t>(incompressible_streak_ + 1, 6);
      compress_skip_ = (1u << incompressible_streak_) - 1;
    }
    Encoded enc;
    enc.block = block;
    enc.extent.count = h.block_count;
    enc.extent.file = current_;
    enc.extent.data_offset = start + kLogRecordHeaderBytes;
    if (h.flags & kLogRecordLz4) {
      enc.extent.compressed = true;
      enc.extent.payload_len = h.payload_len;
      enc.extent.record_blocks = h.block_count;
      enc.extent.record_crc = h.raw_crc;
    }
    encoded_.push_back(enc);
    block += h.block_count;
    blocks.remove_prefix(n);
  }
}

std::vector<std::pair<uint64_t, uint64_t>> Segment::NotEncodedInBatch(uint64_t block, uint64_t count) const {
  std::vector<std::pair<uint64_t, uint64_t>> left{{block, count}};
  for (const Encoded& enc : encoded_) {
    uint64_t lo = enc.block, hi = enc.block + enc.extent.count;
    std::vector<std::pair<uint64_t, uint64_t>> next;
    for (auto [b, n] : left) {
      uint64_t e = b + n;
      if (hi <= b || lo >= e) {
        next.emplace_back(b, n);
        continue;
      }
      if (b < lo) next.emplace_back(b, lo - b);
      if (hi < e) next.emplace_back(hi, e - hi);
    }
    left = std::move(next);
    if (left.empty()) break;
  }
  return left;
}

void Segment::Encode(Op& op) {
  uint32_t bs = options_.block_size;
  switch (op.kind) {
    case OpKind::kWrite:
      EncodeWrite(op.block, op.data);
      break;
    case OpKind::kTrim: {
      uint64_t block = op.block, left = op.count;
      while (left > 0) {
        uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(left, kTrimRecordBlocksMax));
        AppendTrimRecord(next_lsn_++, block, n, &batch_);
        encoded_.push_back(Encoded{true, block, IndexExtent{.count = n}});
        block += n;
        left -= n;
      }
      break;
    }
    case OpKind::kGcWrite: {
      // Only the writer thread changes the index, so what it reads here is
      // what every earlier record left: a block written since the GC read
      // it no longer matches and is skipped.
      for (const IndexPiece& p : index_.Lookup(op.block, op.count)) {
        if (!p.written) continue;
        IndexExtent want = op.expected.Advanced(p.block - op.block, bs);
        want.count = static_cast<uint32_t>(p.count);
        if (!(p.extent == want)) continue;
        // The index does not yet hold this batch's own records: a block a
        // write or trim earlier in the batch covers is newer than the copy.
        for (auto [block, count] : NotEncodedInBatch(p.block, p.count)) {
          EncodeWrite(block, std::string_view(op.data).substr((block - op.block) * bs, count * bs));
          stats_.gc_bytes_rewritten += count * bs;
        }
      }
      break;
    }
    case OpKind::kCheckpoint:
      checkpoint_wanted_ = true;
      break;
    case OpKind::kSync:
      sync_wanted_ = true;
      break;
  }
}

void Segment::FailLocked(const Status& st) {
  if (failed_.ok()) {
    failed_ = st;
    spdlog::error("segment {}: failed: {}", dir_, st.ToString());
  }
}

void Segment::WriterLoop() {
  for (;;) {
    std::vector<std::unique_ptr<Op>> ops;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_ || !failed_.ok()) {
        Status why = failed_.ok() ? Status::Unavailable("segment " + dir_ + " is closing") : failed_;
        std::deque<std::unique_ptr<Op>> refused = std::move(queue_);
        queue_.clear();
        queued_bytes_ = 0;
        const bool stop = stopping_;
        lock.unlock();
        for (auto& op : refused) op->done(why);
        if (stop) return;
        continue;
      }
      uint64_t bytes = 0;
      while (!queue_.empty() && (ops.empty() || bytes + queue_.front()->data.size() <= options_.append_bytes_max)) {
        bytes += queue_.front()->data.size();
        queued_bytes_ -= queue_.front()->data.size();
        ops.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    cv_.notify_all();
    batch_.clear();
    encoded_.clear();
    compress_tried_in_batch_ = 0;
    sync_wanted_ = false;
    for (auto& op : ops) Encode(*op);
    Status st;
    if (!batch_.empty() && appender_->size() > 0 && appender_->size() + batch_.size() > options_.data_file_bytes_max) {
      st = Roll();
      // Roll() started a new file: the batch's extents name it.
      for (auto& enc : encoded_) enc.extent.file = current_;
    }
    if (st.ok() && checkpoint_wanted_) st = Roll();
    uint64_t base = appender_ ? appender_->size() : 0;
    if (st.ok() && !batch_.empty()) st = appender_->Append(batch_);
    // The batch's own appends and every earlier one are acknowledged: a
    // sync covers them all.
    if (st.ok() && sync_wanted_) {
      sync_wanted_ = false;
      st = appender_->Sync();
      if (!st.ok()) {
        // Still acknowledged in memory, and the file stays usable: only the
        // sync requests fail (and are retried by the client).
        spdlog::warn("segment {}: sync: {}", dir_, st.ToString());
        for (auto& op : ops) {
          if (op->kind == OpKind::kSync) {
            op->done(st);
            op.reset();
          }
        }
        st = Status::Ok();
      }
    }
    std::unique_lock lock(mu_);
    if (!st.ok()) {
      FailLocked(st);
    } else if (!batch_.empty()) {
      buffer_.Append(batch_);
      files_[current_].size = buffer_.size();
      for (Encoded& enc : encoded_) {
        if (enc.trim) {
          index_.Erase(enc.block, enc.extent.count);
        } else {
          enc.extent.file = current_;
          enc.extent.data_offset += base;
          index_.Set(enc.block, enc.extent);
        }
      }
      logged_since_checkpoint_ += batch_.size();
      stats_.appends++;
      stats_.appended_bytes += batch_.size();
      stats_.requests_written += ops.size();
      for (const auto& op : ops) {
        if (op && (op->kind == OpKind::kWrite || op->kind == OpKind::kTrim)) stats_.client_writes++;
      }
      stats_.records_compress_tried += compress_tried_in_batch_;
    }
    lock.unlock();
    for (auto& op : ops) {
      if (op) op->done(st);
    }
  }
}

Status Segment::Roll() {
  // Called by the writer thread only.
  bool has_data = appender_->size() > 0;
  if (has_data) {
    RETURN_IF_ERROR(appender_->Close());
    ASSIGN_OR_RETURN(auto reader, store_->OpenReader(PathOf(kLogPrefix, current_)));
    // The file's bytes are all in the buffer (which only this thread
    // changes): its pages go to the read cache now, so reading what was
    // just written costs no dfs read.
    DataFile closed = OpenedFile(std::move(reader), buffer_.pages());
    {
      std::lock_guard lock(mu_);
      files_[current_] = std::move(closed);
      current_++;
    }
    RETURN_IF_ERROR(StartNewFile());
  }
  uint64_t threshold = std::max(options_.checkpoint_bytes_min, 4 * last_checkpoint_bytes_);
  if (checkpoint_wanted_ || logged_since_checkpoint_ >= threshold) {
    checkpoint_wanted_ = false;
    RETURN_IF_ERROR(WriteCheckpoint());
  }
  return Status::Ok();
}

Status Segment::WriteCheckpoint() {
  // The index covers every file before current_ (the open one is new or
  // empty when this runs).
  std::string bytes;
  PutRaw<uint32_t>(&bytes, kCheckpointMagic);
  PutRaw<uint32_t>(&bytes, kCheckpointVersion);
  PutRaw<uint32_t>(&bytes, options_.block_size);
  PutRaw<uint32_t>(&bytes, current_);
  PutRaw<uint64_t>(&bytes, next_lsn_);
  index_.Serialize(&bytes);
  PutRaw<uint32_t>(&bytes, Crc32c(bytes));
  std::string final_path = PathOf(kCheckpointPrefix, current_);
  std::string tmp = final_path + kTmpSuffix;
  (void)store_->Delete(tmp);
  {
    ASSIGN_OR_RETURN(auto out, store_->Create(tmp, dfs::DURABILITY_SYNC));
    RETURN_IF_ERROR(out->Append(bytes));
    RETURN_IF_ERROR(out->Close());
  }
  RETURN_IF_ERROR(store_->Rename(tmp, final_path));
  last_checkpoint_bytes_ = bytes.size();
  logged_since_checkpoint_ = 0;
  // Older checkpoints and data files with nothing live are garbage now.
  ASSIGN_OR_RETURN(auto entries, store_->List(dir_));
  for (const auto& e : entries) {
    uint32_t seq = 0;
    if (ParseSeq(e.name, kCheckpointPrefix, &seq) && seq < current_) {
      RETURN_IF_ERROR(store_->Delete(dir_ + "/" + e.name));
    }
  }
  std::vector<uint32_t> dead;
  {
    std::lock_guard lock(mu_);
    for (const auto& [seq, f] : files_) {
      if (seq < current_ && index_.live_blocks_in(seq) == 0) dead.push_back(seq);
    }
  }
  for (uint32_t seq : dead) {
    RETURN_IF_ERROR(store_->Delete(PathOf(kLogPrefix, seq)));
    std::lock_guard lock(mu_);
    files_.erase(seq);
    stats_.gc_files_collected++;
  }
  std::lock_guard lock(mu_);
  stats_.checkpoints++;
  stats_.checkpoint_bytes += bytes.size();
  return Status::Ok();
}

Result<std::string> Segment::ReadFromBuffer(const IndexExtent& e) const {
  uint32_t bs = options_.block_size;
  if (!e.compressed) {
    if (e.data_offset + uint64_t{e.count} * bs > buffer_.size()) return Status::Internal("index points past the buffer");
    return buffer_.Substr(e.data_offset, uint64_t{e.count} * bs);
  }
  if (e.data_offset + e.payload_len > buffer_.size()) return Status::Internal("index points past the buffer");
  LogRecordHeader h;
  h.flags = kLogRecordLz4;
  h.block_count = e.record_blocks;
  h.raw_crc = e.record_crc;
  ASSIGN_OR_RETURN(std::string blocks,
                   DecodeWritePayload(h, bs, buffer_.Substr(e.data_offset, e.payload_len)));
  return blocks.substr(uint64_t{e.block_delta} * bs, uint64_t{e.count} * bs);
}

Result<std::string> Segment::ReadFromFile(LogReader* reader, const IndexExtent& e, uint32_t bs) {
  return ReadExtent(e, bs, [reader](uint64_t offset, char* buf, size_t n) { return reader->ReadExact(offset, buf, n); });
}

Result<std::string> Segment::ReadFromCache(LogReader* reader, const IndexExtent& e, uint32_t bs) {
  return ReadExtent(e, bs, [reader](uint64_t offset, char* buf, size_t n) {
    return reader->ReadIfCached(offset, buf, n) ? Status::Ok() : Status::Unavailable("not in memory");
  });
}

Result<std::string> Segment::ReadExtent(const IndexExtent& e, uint32_t bs,
                                        const std::function<Status(uint64_t, char*, size_t)>& read) {
  if (!e.compressed) {
    std::string out(uint64_t{e.count} * bs, '\0');
    RETURN_IF_ERROR(read(e.data_offset, out.data(), out.size()));
    return out;
  }
  std::string payload(e.payload_len, '\0');
  RETURN_IF_ERROR(read(e.data_offset, payload.data(), payload.size()));
  LogRecordHeader h;
  h.flags = kLogRecordLz4;
  h.block_count = e.record_blocks;
  h.raw_crc = e.record_crc;
  ASSIGN_OR_RETURN(std::string blocks, DecodeWritePayload(h, bs, payload));
  return blocks.substr(uint64_t{e.block_delta} * bs, uint64_t{e.count} * bs);
}

Result<std::string> Segment::Read(uint64_t offset, uint64_t length) {
  return *ReadImpl(offset, length, /*memory_only=*/false);
}

std::optional<Result<std::string>> Segment::ReadWithoutWaiting(uint64_t offset, uint64_t length) {
  return ReadImpl(offset, length, /*memory_only=*/true);
}

std::optional<Result<std::string>> Segment::ReadImpl(uint64_t offset, uint64_t length, bool memory_only) {
  RETURN_IF_ERROR(CheckRange(offset, length));
  uint32_t bs = options_.block_size;
  // A file read may find its file deleted by a checkpoint that ran after
  // the lookup (the blocks were rewritten meanwhile): look up again.
  constexpr int kAttemptsMax = 3;
  Status last;
  for (int attempt = 0; attempt < kAttemptsMax; ++attempt) {
    std::string out(length, '\0');
    struct FileRead {
      IndexPiece piece;
      std::shared_ptr<LogReader> reader;
    };
    std::vector<FileRead> reads;
    {
      std::lock_guard lock(mu_);
      if (!failed_.ok()) return failed_;
      for (const IndexPiece& p : index_.Lookup(offset / bs, length / bs)) {
        if (!p.written) continue;  // zeros
        if (p.extent.file == current_) {
          ASSIGN_OR_RETURN(std::string data, ReadFromBuffer(p.extent));
          std::memcpy(out.data() + (p.block * bs - offset), data.data(), data.size());
          continue;
        }
        auto it = files_.find(p.extent.file);
        if (it == files_.end() || !it->second.reader) return Status::Internal("index names a missing data file");
        reads.push_back({p, it->second.cached});
      }
    }
    last = Status::Ok();
    for (const FileRead& r : reads) {
      Result<std::string> data = memory_only ? ReadFromCache(r.reader.get(), r.piece.extent, bs)
                                             : ReadFromFile(r.reader.get(), r.piece.extent, bs);
      if (memory_only && data.status().code() == StatusCode::kUnavailable) return std::nullopt;
      if (!data.ok()) {
        last = data.status();
        break;
      }
      std::memcpy(out.data() + (r.piece.block * bs - offset), data->data(), data->size());
    }
    if (last.ok()) return out;
  }
  return last.WithContext("segment " + dir_);
}

Result<std::vector<BlockRun>> Segment::BlockStatus(uint64_t offset, uint64_t length) {
  RETURN_IF_ERROR(CheckRange(offset, length));
  uint32_t bs = options_.block_size;
  std::vector<BlockRun> runs;
  std::lock_guard lock(mu_);
  if (!failed_.ok()) return failed_;
  for (const IndexPiece& p : index_.Lookup(offset / bs, length / bs)) {
    if (!runs.empty() && runs.back().allocated == p.written) {
      runs.back().length += p.count * bs;
    } else {
      runs.push_back({p.count * bs, p.written});
    }
  }
  return runs;
}

Result<bool> Segment::CollectGarbage(bool busy) {
  uint32_t bs = options_.block_size;
  uint32_t victim = 0;
  std::shared_ptr<LogReader> reader;
  std::vector<std::pair<uint64_t, IndexExtent>> extents;
  {
    std::lock_guard lock(mu_);
    if (!failed_.ok() || stopping_) return false;
    double best = 1.0;
    uint64_t closed_bytes = 0;
    uint64_t closed_live_bytes = 0;
    for (const auto& [seq, f] : files_) {
      if (seq == current_ || !f.reader || f.size == 0) continue;
      // Live bytes as stored (compressed blocks by their share of their
      // record) over the file's bytes.
      const uint64_t live_bytes = index_.live_stored_bytes_in(seq);
      closed_bytes += f.size;
      closed_live_bytes += live_bytes;
      double live = static_cast<double>(live_bytes) / static_cast<double>(f.size);
      if (live < best) {
        best = live;
        victim = seq;
        reader = f.reader;
      }
    }
    double threshold = options_.gc_live_fraction_max;
    if (busy && static_cast<double>(closed_bytes) <=
                    options_.gc_busy_space_amp_max * static_cast<double>(closed_live_bytes)) {
      threshold = std::min(threshold, options_.gc_busy_live_fraction_max);
    }
    if (!reader || !(best < threshold)) return false;
    index_.ForEachInFile(victim, [&](uint64_t block, const IndexExtent& e) { extents.emplace_back(block, e); });
  }
  // Rewrite the live blocks through the writer thread: read the file in
  // order, a window of up to gc_read_bytes_max at a time, and queue its
  // blocks as GC writes of at most one group-committed append at a time, so
  // that foreground writes queued beside them are never held longer than
  // one GC append.
  auto end_of = [bs](const IndexExtent& e) {
    return e.data_offset + (e.compressed ? uint64_t{e.payload_len} : uint64_t{e.count} * bs);
  };
  std::sort(extents.begin(), extents.end(),
            [](const auto& a, const auto& b) { return a.second.data_offset < b.second.data_offset; });
  std::vector<std::unique_ptr<Op>> group;
  uint64_t group_bytes = 0;
  for (size_t i = 0; i < extents.size();) {
    const uint64_t start = extents[i].second.data_offset;
    uint64_t end = end_of(extents[i].second);
    size_t j = i + 1;
    while (j < extents.size() && std::max(end, end_of(extents[j].second)) - start <= options_.gc_read_bytes_max) {
      end = std::max(end, end_of(extents[j].second));
      ++j;
    }
    std::string window(end - start, '\0');
    RETURN_IF_ERROR(reader->ReadExact(start, window.data(), window.size()));
    auto from_window = [&](uint64_t offset, char* buf, size_t n) {
      std::memcpy(buf, window.data() + (offset - start), n);
      return Status::Ok();
    };
    for (; i < j; ++i) {
      const auto& [block, e] = extents[i];
      auto op = std::make_unique<Op>();
      op->kind = OpKind::kGcWrite;
      op->block = block;
      op->count = e.count;
      op->expected = e;
      ASSIGN_OR_RETURN(op->data, ReadExtent(e, bs, from_window));
      if (!group.empty() && group_bytes + op->data.size() > options_.append_bytes_max) {
        RETURN_IF_ERROR(SubmitAllAndWait(std::move(group)));
        group.clear();
        group_bytes = 0;
      }
      group_bytes += op->data.size();
      group.push_back(std::move(op));
    }
  }
  if (!group.empty()) RETURN_IF_ERROR(SubmitAllAndWait(std::move(group)));
  // A checkpoint that no longer needs the file lets it go.
  auto op = std::make_unique<Op>();
  op->kind = OpKind::kCheckpoint;
  RETURN_IF_ERROR(Submit(std::move(op)));
  return true;
}

SegmentStats Segment::stats() const {
  std::lock_guard lock(mu_);
  SegmentStats s = stats_;
  s.live_bytes = index_.live_blocks() * options_.block_size;
  s.extents = index_.extent_count();
  s.queued_requests = queue_.size();
  s.data_files = files_.size();
  s.stored_bytes = 0;
  for (const auto& [seq, f] : files_) s.stored_bytes += f.size;
  return s;
}

Status Segment::failure() const {
  std::lock_guard lock(mu_);
  return failed_;
}

}  // namespace strata::block
