#include "block/server/log_record.h"

#include <lz4.h>

#include <cstring>

#include "common/crc32c.h"

namespace strata::block {
namespace {

void Put32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }
void Put64(char* p, uint64_t v) { std::memcpy(p, &v, 8); }
uint32_t Get32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t Get64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Writes header and payload at the end of `out` and seals them with the CRC.
void Emit(const LogRecordHeader& h, std::string_view payload, std::string* out) {
  size_t start = out->size();
  out->resize(start + kLogRecordHeaderBytes);
  char* p = out->data() + start;
  Put32(p, kLogRecordMagic);
  p[8] = static_cast<char>(h.kind);
  p[9] = static_cast<char>(h.flags);
  p[10] = 0;
  p[11] = 0;
  Put32(p + 12, h.payload_len);
  Put64(p + 16, h.lsn);
  Put64(p + 24, h.first_block);
  Put32(p + 32, h.block_count);
  Put32(p + 36, h.raw_crc);
  out->append(payload);
  p = out->data() + start;
  Put32(p + 4, Crc32c(p + 8, kLogRecordHeaderBytes - 8 + payload.size()));
}

}  // namespace

LogRecordHeader AppendWriteRecord(uint64_t lsn, uint64_t first_block, uint32_t block_size, std::string_view blocks,
                                  bool compress, std::string* out) {
  LogRecordHeader h;
  h.kind = LogRecordKind::kWrite;
  h.lsn = lsn;
  h.first_block = first_block;
  h.block_count = static_cast<uint32_t>(blocks.size() / block_size);
  h.raw_crc = Crc32c(blocks);
  if (compress) {
    int bound = LZ4_compressBound(static_cast<int>(blocks.size()));
    std::string packed(static_cast<size_t>(bound), '\0');
    int n = LZ4_compress_default(blocks.data(), packed.data(), static_cast<int>(blocks.size()), bound);
    if (n > 0 && static_cast<size_t>(n) <= blocks.size() - blocks.size() / 8) {
      packed.resize(static_cast<size_t>(n));
      // Trust the compressed bytes only once they give the blocks back.
      std::string check(blocks.size(), '\0');
      int m = LZ4_decompress_safe(packed.data(), check.data(), n, static_cast<int>(check.size()));
      if (m == static_cast<int>(blocks.size()) && Crc32c(check) == h.raw_crc) {
        h.flags = kLogRecordLz4;
        h.payload_len = static_cast<uint32_t>(packed.size());
        Emit(h, packed, out);
        return h;
      }
    }
  }
  h.payload_len = static_cast<uint32_t>(blocks.size());
  Emit(h, blocks, out);
  return h;
}

LogRecordHeader AppendTrimRecord(uint64_t lsn, uint64_t first_block, uint32_t block_count, std::string* out) {
  LogRecordHeader h;
  h.kind = LogRecordKind::kTrim;
  h.lsn = lsn;
  h.first_block = first_block;
  h.block_count = block_count;
  Emit(h, {}, out);
  return h;
}

Result<LogRecordHeader> ParseLogRecord(std::string_view bytes) {
  if (bytes.size() < kLogRecordHeaderBytes) return Status::OutOfRange("log ends inside a record header");
  const char* p = bytes.data();
  if (Get32(p) != kLogRecordMagic) return Status::Corruption("no log record magic");
  LogRecordHeader h;
  h.kind = static_cast<LogRecordKind>(static_cast<uint8_t>(p[8]));
  h.flags = static_cast<uint8_t>(p[9]);
  h.payload_len = Get32(p + 12);
  h.lsn = Get64(p + 16);
  h.first_block = Get64(p + 24);
  h.block_count = Get32(p + 32);
  h.raw_crc = Get32(p + 36);
  if (h.payload_len > kLogRecordBlockBytesMax + (kLogRecordBlockBytesMax >> 4)) {
    return Status::Corruption("log record payload length " + std::to_string(h.payload_len) + " out of bounds");
  }
  if (bytes.size() < kLogRecordHeaderBytes + h.payload_len) return Status::OutOfRange("log ends inside a record");
  if (Crc32c(p + 8, kLogRecordHeaderBytes - 8 + h.payload_len) != Get32(p + 4)) {
    return Status::Corruption("log record checksum mismatch");
  }
  if (h.kind != LogRecordKind::kWrite && h.kind != LogRecordKind::kTrim) {
    return Status::Corruption("unknown log record kind " + std::to_string(static_cast<int>(h.kind)));
  }
  if (h.kind == LogRecordKind::kTrim && h.payload_len != 0) return Status::Corruption("trim record with a payload");
  return h;
}

Result<std::string> DecodeWritePayload(const LogRecordHeader& h, uint32_t block_size, std::string_view payload) {
  size_t raw = static_cast<size_t>(h.block_count) * block_size;
  std::string blocks;
  if (h.flags & kLogRecordLz4) {
    blocks.resize(raw);
    int m = LZ4_decompress_safe(payload.data(), blocks.data(), static_cast<int>(payload.size()),
                                static_cast<int>(raw));
    if (m != static_cast<int>(raw)) return Status::Corruption("log record does not decompress");
  } else {
    if (payload.size() != raw) return Status::Corruption("log record payload length does not match its blocks");
    blocks.assign(payload);
  }
  if (Crc32c(blocks) != h.raw_crc) return Status::Corruption("log record blocks do not match their checksum");
  return blocks;
}

}  // namespace strata::block
