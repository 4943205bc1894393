// libFuzzer harness for the on-disk chunk records (dfs/chunkserver/store/
// chunk_format.h): the <id>.meta record and the two tail slots at the head
// of <id>.chunk, which Replica::Load decodes from whatever a disk returns.
// Random bytes almost never pass the CRC32C that guards each record, so the
// first byte picks how the rest is used:
//   0  raw: the rest is a .meta file, then a .chunk header (slot A at 0, B
//      at 512, as ReadSlots reads them);
//   1  structured: the rest gives the fields of a meta record and of two
//      slots (and which bytes to flip), the harness encodes them with valid
//      CRCs, corrupts what the input asks, and decodes. What decodes must
//      re-encode to the same bytes (a field the decoder drops or misreads
//      shows), and a record with a flipped byte must not decode.
//   2  file names: the rest is a directory entry for ChunkIdFromMetaName,
//      whose id must give back the same name.
// Run: fuzz/run, or build-fuzz/fuzz/chunk_format_fuzz fuzz/corpus/chunk_format_fuzz
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "dfs/chunkserver/store/chunk_format.h"
#include "fuzz_input.h"

namespace {

using namespace strata::dfs;
using strata::fuzz::Check;
using strata::fuzz::Take;

void FuzzRaw(std::string_view in) {
  const size_t meta_len = std::min<size_t>(in.size(), kMetaSize);
  if (auto meta = DecodeChunkMeta(in.substr(0, meta_len)); meta.ok()) {
    // Everything but the flag bits other than `sealed` (and so the CRC) is
    // read back as it was written.
    const std::string again = EncodeChunkMeta(*meta);
    Check(again.compare(0, 6, in.substr(0, 6)) == 0 && again.compare(8, 24, in.substr(8, 24)) == 0);
  }
  std::string_view header = in.substr(meta_len);
  for (uint64_t at : kSlotOffset) {
    if (at >= header.size()) continue;
    (void)DecodeTailSlot(header.substr(at));
  }
}

// Flips the byte `flip % size` of `record` when `flip` asks for it (bit 15);
// true when a byte was changed.
bool Corrupt(std::string& record, uint16_t flip, uint8_t mask) {
  if (!(flip & 0x8000) || mask == 0) return false;
  record[(flip & 0x7fff) % record.size()] ^= static_cast<char>(mask);
  return true;
}

void FuzzStructured(std::string_view in) {
  ChunkMeta meta;
  meta.chunk_id = Take(in, 8);
  meta.epoch = Take(in, 8);
  meta.sealed_length = Take(in, 8);
  meta.sealed = Take(in, 1) & 1;
  const auto meta_flip = static_cast<uint16_t>(Take(in, 2));
  const auto meta_mask = static_cast<uint8_t>(Take(in, 1));
  std::string meta_bytes = EncodeChunkMeta(meta);
  Check(meta_bytes.size() == kMetaSize);
  const bool meta_corrupt = Corrupt(meta_bytes, meta_flip, meta_mask);
  auto decoded = DecodeChunkMeta(meta_bytes);
  Check(decoded.ok() != meta_corrupt);
  if (decoded.ok()) {
    Check(decoded->chunk_id == meta.chunk_id && decoded->epoch == meta.epoch);
    Check(decoded->sealed_length == meta.sealed_length && decoded->sealed == meta.sealed);
    Check(EncodeChunkMeta(*decoded) == meta_bytes);
  }
  // The .chunk header: slot A at 0, slot B at 512, what lies around them
  // taken from the input (a torn write leaves anything there).
  std::string header(kSlotOffset[1] + kSlotSize, '\0');
  for (size_t i = 0; i < header.size() && !in.empty() && i < 64; ++i) header[kSlotSize + i] = static_cast<char>(Take(in, 1));
  for (uint64_t at : kSlotOffset) {
    TailSlot slot;
    slot.seq = Take(in, 8);
    slot.length = Take(in, 8);
    slot.tail_crc = static_cast<uint32_t>(Take(in, 4));
    const auto flip = static_cast<uint16_t>(Take(in, 2));
    const auto mask = static_cast<uint8_t>(Take(in, 1));
    std::string bytes = EncodeTailSlot(slot);
    Check(bytes.size() == kSlotSize);
    const bool corrupt = Corrupt(bytes, flip, mask);
    std::memcpy(header.data() + at, bytes.data(), bytes.size());
    auto got = DecodeTailSlot(std::string_view(header).substr(at));
    Check(got.ok() != corrupt);
    if (got.ok()) {
      Check(got->seq == slot.seq && got->length == slot.length && got->tail_crc == slot.tail_crc);
      Check(EncodeTailSlot(*got) == bytes);
    }
    // A slot cut short (a short read of the header) never decodes.
    Check(!DecodeTailSlot(std::string_view(header).substr(at, kSlotSize - 1)).ok());
  }
}

void FuzzName(std::string_view in) {
  const std::string name(in);
  auto id = ChunkIdFromMetaName(name);
  if (!id.ok()) return;
  Check(ChunkIdHex(*id) + ".meta" == name);
  const ChunkPaths paths = PathsForChunk("/d", *id);
  Check(paths.meta == "/d/" + name && paths.chunk == "/d/" + ChunkIdHex(*id) + ".chunk");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      FuzzRaw(in);
      break;
    case 1:
      FuzzStructured(in);
      break;
    default:
      FuzzName(in);
      break;
  }
  return 0;
}
