#include "dfs/chunkserver/store/chunk_format.h"

#include <cinttypes>
#include <cstdio>

#include "common/crc32c.h"

namespace strata::dfs {
namespace {

void PutU16(std::string* out, uint16_t v) {
  for (int i = 0; i < 2; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
uint16_t GetU16(const char* p) {
  return static_cast<uint16_t>(static_cast<uint8_t>(p[0]) | (static_cast<uint8_t>(p[1]) << 8));
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

std::string EncodeChunkMeta(const ChunkMeta& meta) {
  std::string out;
  out.reserve(kMetaSize);
  PutU32(&out, kMetaMagic);
  PutU16(&out, kMetaVersion);
  PutU16(&out, meta.sealed ? kMetaFlagSealed : 0);
  PutU64(&out, meta.chunk_id);
  PutU64(&out, meta.epoch);
  PutU64(&out, meta.sealed_length);
  PutU32(&out, Crc32c(out.data(), out.size()));
  return out;
}

Result<ChunkMeta> DecodeChunkMeta(std::string_view bytes) {
  if (bytes.size() != kMetaSize) {
    return Status::Corruption("chunk meta has " + std::to_string(bytes.size()) + " bytes, want 36");
  }
  const char* p = bytes.data();
  if (GetU32(p) != kMetaMagic) return Status::Corruption("chunk meta: bad magic");
  if (GetU32(p + 32) != Crc32c(p, 32)) return Status::Corruption("chunk meta: CRC mismatch");
  if (GetU16(p + 4) != kMetaVersion) return Status::Corruption("chunk meta: unknown version");
  ChunkMeta meta;
  meta.sealed = (GetU16(p + 6) & kMetaFlagSealed) != 0;
  meta.chunk_id = GetU64(p + 8);
  meta.epoch = GetU64(p + 16);
  meta.sealed_length = GetU64(p + 24);
  return meta;
}

std::string EncodeTailSlot(const TailSlot& slot) {
  std::string out;
  out.reserve(kSlotSize);
  PutU32(&out, kSlotMagic);
  PutU32(&out, slot.tail_crc);
  PutU64(&out, slot.seq);
  PutU64(&out, slot.length);
  PutU32(&out, Crc32c(out.data(), out.size()));
  return out;
}

Result<TailSlot> DecodeTailSlot(std::string_view bytes) {
  if (bytes.size() < kSlotSize) return Status::Corruption("tail slot: short");
  const char* p = bytes.data();
  if (GetU32(p) != kSlotMagic) return Status::Corruption("tail slot: bad magic");
  if (GetU32(p + 24) != Crc32c(p, 24)) return Status::Corruption("tail slot: CRC mismatch");
  TailSlot slot;
  slot.tail_crc = GetU32(p + 4);
  slot.seq = GetU64(p + 8);
  slot.length = GetU64(p + 16);
  return slot;
}

std::string ChunkIdHex(uint64_t chunk_id) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64, chunk_id);
  return buf;
}

ChunkPaths PathsForChunk(const std::string& chunks_dir, uint64_t chunk_id) {
  std::string base = chunks_dir + "/" + ChunkIdHex(chunk_id);
  return ChunkPaths{base + ".chunk", base + ".meta", base + ".meta.tmp"};
}

Result<uint64_t> ChunkIdFromMetaName(const std::string& name) {
  if (name.size() != 21 || name.compare(16, 5, ".meta") != 0) return Status::NotFound(name);
  uint64_t id = 0;
  for (int i = 0; i < 16; ++i) {
    char c = name[i];
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (d < 0) return Status::NotFound(name);
    id = (id << 4) | static_cast<uint64_t>(d);
  }
  return id;
}

}  // namespace strata::dfs
