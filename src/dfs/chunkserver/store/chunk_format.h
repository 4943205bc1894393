// The on-disk format of one chunk replica (byte layout in docs/chunk_format.md).
//
// A replica is three files in `<disk>/chunks/`, named by the chunk id in 16
// lower-case hex digits:
//   <id>.data  the chunk's bytes, nothing else (offset in file == offset in chunk)
//   <id>.crc   one little-endian u32 CRC32C per 4 KiB block of .data; the last
//              entry covers only the bytes of a partial last block
//   <id>.meta  a 36-byte record: chunk id, epoch, sealed flag, sealed length,
//              protected by its own CRC32C; replaced atomically (tmp + rename)
// Appends write and fdatasync .data before they write and fdatasync .crc, so
// after a crash every CRC entry describes data that is on disk; recovery
// trims .data to what the CRCs cover (see Replica::Load).
//
// Thread-safety: pure functions and value types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace strata::dfs {

inline constexpr uint64_t kChunkBlockSize = 4096;
inline constexpr uint64_t kCrcEntrySize = 4;
inline constexpr uint32_t kMetaMagic = 0x4B484353;  // "SCHK" little-endian
inline constexpr uint16_t kMetaVersion = 1;
inline constexpr size_t kMetaSize = 36;
inline constexpr uint16_t kMetaFlagSealed = 1;

struct ChunkMeta {
  uint64_t chunk_id = 0;
  uint64_t epoch = 0;
  bool sealed = false;
  uint64_t sealed_length = 0;
};

// The 36-byte encoding of `meta`.
std::string EncodeChunkMeta(const ChunkMeta& meta);
// Corruption on a wrong size, magic, version or CRC.
Result<ChunkMeta> DecodeChunkMeta(std::string_view bytes);

struct ChunkPaths {
  std::string data;
  std::string crc;
  std::string meta;
  std::string meta_tmp;
};

// Paths of chunk `chunk_id` inside `chunks_dir`.
ChunkPaths PathsForChunk(const std::string& chunks_dir, uint64_t chunk_id);
// "00000000000000ff"
std::string ChunkIdHex(uint64_t chunk_id);
// Parses "<16 hex>.meta"; NotFound for any other name.
Result<uint64_t> ChunkIdFromMetaName(const std::string& name);

inline uint64_t BlockCount(uint64_t length) { return (length + kChunkBlockSize - 1) / kChunkBlockSize; }

void PutU32(std::string* out, uint32_t v);
uint32_t GetU32(const char* p);

}  // namespace strata::dfs
