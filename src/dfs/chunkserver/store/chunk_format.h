// The on-disk format of one chunk replica (byte layout in docs/chunk_format.md).
//
// A replica is two files in `<disk>/chunks/`, named by the chunk id in 16
// lower-case hex digits:
//   <id>.chunk  header (two tail slots) | CRC table | data
//               - tail slot A at byte 0, B at byte 512 (never in one sector):
//                 sequence number, replica length, CRC32C of the partial last
//                 block, each slot protected by its own CRC32C
//               - CRC table at byte 4096: a little-endian u32 CRC32C per
//                 *complete* 4 KiB block of data, written once when the block
//                 fills (sparse until then)
//               - data at byte kDataOffset (4096 + 4 MiB): chunk byte k is
//                 file byte kDataOffset + k
//   <id>.meta   a 36-byte record: chunk id, epoch, sealed flag, sealed length,
//               protected by its own CRC32C; replaced atomically (tmp + rename)
// An append writes data, the table entries of blocks it completes, and the
// slot NOT holding the current state, then issues one fdatasync. The slot of
// the last acknowledged state is never overwritten by the next append, so
// after a crash one slot always describes durable data (see Replica::Load).
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

inline constexpr uint64_t kChunkLengthMax = 4ull << 30;  // the CRC table's reach
inline constexpr uint64_t kChunkHeaderBytes = 4096;
inline constexpr uint64_t kCrcTableOffset = kChunkHeaderBytes;
inline constexpr uint64_t kCrcTableBytes = kChunkLengthMax / 4096 * 4;
inline constexpr uint64_t kDataOffset = kCrcTableOffset + kCrcTableBytes;
inline constexpr uint64_t kSlotOffset[2] = {0, 512};
inline constexpr size_t kSlotSize = 28;
inline constexpr uint32_t kSlotMagic = 0x4C544353;  // "SCTL" little-endian

struct ChunkMeta {
  uint64_t chunk_id = 0;
  uint64_t epoch = 0;
  bool sealed = false;
  uint64_t sealed_length = 0;
};

// One tail slot: the replica's length and the CRC32C of its partial last
// block (0 when the length is a multiple of 4 KiB); the valid slot with the
// highest `seq` is the newest state.
struct TailSlot {
  uint64_t seq = 0;
  uint64_t length = 0;
  uint32_t tail_crc = 0;
};

// The 28-byte encoding of `slot`.
std::string EncodeTailSlot(const TailSlot& slot);
// Corruption on a wrong size, magic or CRC (e.g. a torn or never-written slot).
Result<TailSlot> DecodeTailSlot(std::string_view bytes);

// The 36-byte encoding of `meta`.
std::string EncodeChunkMeta(const ChunkMeta& meta);
// Corruption on a wrong size, magic, version or CRC.
Result<ChunkMeta> DecodeChunkMeta(std::string_view bytes);

struct ChunkPaths {
  std::string chunk;
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
