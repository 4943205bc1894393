// LogRecord: one entry of a segment's data file (docs/block_formats.md).
//
// A segment's data files are its log: every write, TRIM and WRITE_ZEROES is
// appended as a record, and the segment index maps each block to the record
// that last wrote it. A record is a 40-byte header and a payload:
//
//   magic u32 | crc u32 | kind u8 | flags u8 | reserved u16 | payload_len u32
//   lsn u64 | first_block u64 | block_count u32 | raw_crc u32 | payload
//
// `crc` is the CRC32C of every byte after it (the rest of the header and the
// payload), so a torn or corrupt record is found when the log is replayed.
// Write payloads are the blocks, or their LZ4 compression (flag kLz4) when
// that saves at least an eighth; `raw_crc` is the CRC32C of the uncompressed
// blocks, checked after every decompression. TRIM records carry no payload.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace strata::block {

inline constexpr uint32_t kLogRecordMagic = 0x524c4253;  // "SBLR" little-endian
inline constexpr size_t kLogRecordHeaderBytes = 40;
// A write record holds at most this many bytes of blocks (larger writes are
// several records), so a compressed record is read and decompressed whole.
inline constexpr uint32_t kLogRecordBlockBytesMax = 256u << 10;

enum class LogRecordKind : uint8_t { kWrite = 1, kTrim = 2 };
inline constexpr uint8_t kLogRecordLz4 = 1;

struct LogRecordHeader {
  LogRecordKind kind = LogRecordKind::kWrite;
  uint8_t flags = 0;
  uint32_t payload_len = 0;
  uint64_t lsn = 0;
  uint64_t first_block = 0;
  uint32_t block_count = 0;
  uint32_t raw_crc = 0;
};

// Appends a write record of `blocks` (a whole number of blocks) to `out`,
// compressed when `compress` and it pays. The compressed form is
// decompressed and checked against the blocks' CRC before it is used.
// Returns the header written.
LogRecordHeader AppendWriteRecord(uint64_t lsn, uint64_t first_block, uint32_t block_size, std::string_view blocks,
                                  bool compress, std::string* out);
LogRecordHeader AppendTrimRecord(uint64_t lsn, uint64_t first_block, uint32_t block_count, std::string* out);

// Parses the record at the start of `bytes`. Corruption when the header or
// payload checksum does not match, OutOfRange when `bytes` ends inside the
// record (a torn tail).
Result<LogRecordHeader> ParseLogRecord(std::string_view bytes);

// The blocks of a write record's payload, decompressed and checked against
// raw_crc: Corruption when they do not match.
Result<std::string> DecodeWritePayload(const LogRecordHeader& header, uint32_t block_size, std::string_view payload);

}  // namespace strata::block
