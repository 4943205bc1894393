// libFuzzer harness for a chunk replica's recovery at startup (Replica::Load,
// dfs/chunkserver/store/replica_load.cc): whatever a disk returns as the
// replica's <id>.meta and <id>.chunk files, on a MemoryFileSystem. Loading
// succeeds or fails with a Status, never crashes; what loads must read back
// (or report Corruption), load again to the same state, and take an append
// at its length that survives another load. The first byte picks the mode:
//   0  raw: the rest gives the files. u8 flags (1: no .meta file, 2: no
//      .chunk file), u8 n + n bytes of .meta, u16 n + n bytes of the .chunk
//      header (the tail slots at 0 and 512), u16 n + n bytes of the CRC
//      table (at 4096), and the rest as data (at kDataOffset).
//   1  structured: the real Replica writes the files (Create, then up to 12
//      ops of 3 bytes: sync append, memory append, flush, seal at a length
//      the op gives), and one damage is done (u8): none; an append torn by a
//      crash (its data whole or a prefix, its CRC entries and its tail slot
//      each there or not); one byte flipped in a slot, the CRC table or the
//      data; the .chunk file cut; one byte of .meta flipped. Undamaged, or
//      only torn, the replica must load with exactly what was acknowledged
//      (the torn append whole or not at all); otherwise what loads and
//      reads back must be a prefix of it.
// Seeds: fuzz/corpus/replica_load_fuzz/, files made by the real Replica
// code; REPLICA_LOAD_FUZZ_WRITE_SEEDS=DIR build-fuzz/fuzz/replica_load_fuzz
// writes them again into DIR and exits.
// Run: fuzz/run --only replica_load_fuzz
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/metrics.h"
#include "dfs/chunkserver/store/chunk_format.h"
#include "dfs/chunkserver/store/disk.h"
#include "dfs/chunkserver/store/replica.h"
#include "env/clock.h"
#include "env/memory/memory_file_system.h"
#include "fuzz_input.h"

namespace {

using namespace strata;
using namespace strata::dfs;
using strata::fuzz::Check;
using strata::fuzz::Take;
using strata::fuzz::TakeBytes;

constexpr uint64_t kId = 0x2a;
constexpr uint64_t kAppendBytesMax = 9000;  // a few blocks, partial ones too
constexpr int kOpsMax = 12;

void PutBigEndian(std::string* out, uint64_t v, size_t bytes) {
  for (size_t i = bytes; i-- > 0;) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Chunk bytes [offset, offset + n), never zero (so that a hole never
// matches them).
std::string Pattern(uint64_t offset, uint64_t n, uint64_t salt) {
  std::string s(n, '\0');
  for (uint64_t i = 0; i < n; ++i) s[i] = static_cast<char>(1 + ((offset + i) * 131 + salt) % 251);
  return s;
}

// One disk of one chunkserver, in memory.
struct Env {
  Env() {
    static MetricsRegistry metrics;
    disk = std::make_unique<Disk>(0, "/disk0", &metrics);
    Check(fs->CreateDirs(disk->chunks_dir()).ok());
    paths = PathsForChunk(disk->chunks_dir(), kId);
  }
  Result<std::shared_ptr<Replica>> Load() { return Replica::Load(fs.get(), &clock, disk.get(), kId); }
  // Up to `n` bytes of `path` at `offset` (the whole file by default).
  std::string ReadFile(const std::string& path, uint64_t offset = 0, uint64_t n = UINT64_MAX) {
    auto f = fs->OpenFile(path, OpenMode::kRead);
    Check(f.ok());
    const uint64_t size = *(*f)->Size();
    std::string bytes(offset < size ? std::min(n, size - offset) : 0, '\0');
    Check((*f)->ReadAt(offset, bytes.data(), bytes.size()).ok());
    return bytes;
  }

  std::shared_ptr<FileSystem> fs = NewMemoryFileSystem(64 << 20);
  ManualClock clock;
  std::unique_ptr<Disk> disk;
  ChunkPaths paths;
};

void WriteAt(Env& env, const std::string& path, uint64_t offset, std::string_view bytes) {
  auto f = env.fs->OpenFile(path, OpenMode::kCreate);
  Check(f.ok());
  Check((*f)->WriteAt(offset, bytes.data(), bytes.size()).ok());
}

// The checks on a replica that loaded; returns what it reads back (empty
// and *read_ok false on Corruption).
std::string CheckLoaded(Env& env, std::shared_ptr<Replica> r, bool* read_ok) {
  const ReplicaState st = r->State();
  Check(st.chunk_id == kId && st.length <= kChunkLengthMax);
  std::string out;
  Status read = r->Read(0, st.length, &out);
  Check(read.ok() || read.code() == StatusCode::kCorruption);
  *read_ok = read.ok();
  if (read.ok()) Check(out.size() == st.length);
  r.reset();
  // Recovery rewrote the files into a state it accepts again as it is.
  auto again = env.Load();
  Check(again.ok());
  const ReplicaState st2 = (*again)->State();
  Check(st2.length == st.length && st2.sealed == st.sealed && st2.epoch == st.epoch);
  if (st.sealed) return read.ok() ? out : std::string();
  // And it takes appends at its length, which the next load keeps.
  auto grown = (*again)->Append(st.epoch, st.length, "tail");
  Check(grown.ok() && *grown == st.length + 4);
  again->reset();
  auto third = env.Load();
  Check(third.ok() && (*third)->State().length == st.length + 4);
  std::string tail;
  Check((*third)->Read(st.length, 4, &tail).ok() && tail == "tail");
  return read.ok() ? out : std::string();
}

void FuzzRaw(std::string_view in) {
  Env env;
  const uint64_t flags = Take(in, 1);
  std::string_view meta = TakeBytes(in, Take(in, 1));
  std::string_view header = TakeBytes(in, Take(in, 2) % (kChunkHeaderBytes + 1));
  std::string_view table = TakeBytes(in, Take(in, 2));
  std::string_view data = in;
  if (!(flags & 1)) WriteAt(env, env.paths.meta, 0, meta);
  if (!(flags & 2)) {
    WriteAt(env, env.paths.chunk, 0, header);
    WriteAt(env, env.paths.chunk, kCrcTableOffset, table);
    WriteAt(env, env.paths.chunk, kDataOffset, data);
  }
  auto r = env.Load();
  if (!r.ok()) {
    Check(!r.status().message().empty());
    return;
  }
  bool read_ok = false;
  (void)CheckLoaded(env, std::move(*r), &read_ok);
}

// Runs the ops of `in` on a new replica; returns the acknowledged bytes.
std::string WriteReplica(Env& env, std::string_view& in, uint64_t* epoch, bool* sealed) {
  *epoch = 1 + Take(in, 1);
  auto created = Replica::Create(env.fs.get(), &env.clock, env.disk.get(), kId, *epoch);
  Check(created.ok());
  std::shared_ptr<Replica> r = *created;
  std::string acked;
  *sealed = false;
  for (int ops = 0; ops < kOpsMax && in.size() >= 3 && !*sealed; ++ops) {
    const uint64_t op = Take(in, 1);
    const uint64_t arg = Take(in, 2);
    switch (op % 4) {
      case 0:
      case 1: {
        const std::string piece = Pattern(acked.size(), 1 + arg % kAppendBytesMax, op);
        auto len = r->Append(*epoch, acked.size(), piece, /*sync=*/op % 4 == 0);
        Check(len.ok() && *len == acked.size() + piece.size());
        acked += piece;
        break;
      }
      case 2:
        Check(r->Flush().ok());
        break;
      default: {
        const uint64_t length = acked.size() - arg % (acked.size() + 1);
        auto sealed_at = r->Seal(*epoch, length);
        Check(sealed_at.ok() && *sealed_at == length);
        acked.resize(length);
        *sealed = true;
        break;
      }
    }
  }
  Check(r->State().length == acked.size());
  return acked;
}

// An append the process died in: its data (whole, or a prefix), the CRC
// entries of the blocks it completes and the older tail slot, each written
// or not, as Replica::WriteAtEnd would have left them before its fdatasync.
std::string TearAppend(Env& env, std::string_view& in, uint64_t length) {
  const uint64_t n = 1 + Take(in, 2) % kAppendBytesMax;
  const uint64_t parts = Take(in, 1);
  const uint64_t prefix = Take(in, 2) % n;
  const std::string more = Pattern(length, n, 7);
  const std::string header = env.ReadFile(env.paths.chunk, 0, kSlotOffset[1] + kSlotSize);
  auto a = DecodeTailSlot(std::string_view(header).substr(kSlotOffset[0]));
  auto b = DecodeTailSlot(std::string_view(header).substr(kSlotOffset[1]));
  Check(a.ok() && b.ok());
  const TailSlot& newest = a->seq > b->seq ? *a : *b;
  const int older = a->seq > b->seq ? 1 : 0;
  Check(newest.length == length);
  WriteAt(env, env.paths.chunk, kDataOffset + length, (parts & 1) ? std::string_view(more) : std::string_view(more).substr(0, prefix));
  std::string entries;
  const uint32_t tail = ComputeCrcEntries(length, newest.tail_crc, more, &entries);
  const uint64_t completed = (length + n) / kChunkBlockSize - length / kChunkBlockSize;
  if (parts & 2) {
    WriteAt(env, env.paths.chunk, kCrcTableOffset + length / kChunkBlockSize * kCrcEntrySize,
            std::string_view(entries).substr(0, completed * kCrcEntrySize));
  }
  if (parts & 4) WriteAt(env, env.paths.chunk, kSlotOffset[older], EncodeTailSlot(TailSlot{newest.seq + 1, length + n, tail}));
  return more;
}

void FlipByte(Env& env, const std::string& path, uint64_t offset, uint64_t mask) {
  const std::string byte = env.ReadFile(path, offset, 1);
  if (byte.empty()) return;
  WriteAt(env, path, offset, std::string(1, static_cast<char>(byte[0] ^ (mask | 1))));
}

void FuzzStructured(std::string_view in) {
  Env env;
  uint64_t epoch = 0;
  bool sealed = false;
  std::string acked = WriteReplica(env, in, &epoch, &sealed);
  const uint64_t damage = Take(in, 1) % 5;
  const uint64_t where = Take(in, 4);
  const uint64_t mask = Take(in, 1);
  std::string in_flight;
  switch (damage) {
    case 1:
      if (!sealed) in_flight = TearAppend(env, in, acked.size());
      break;
    case 2: {
      const uint64_t table_bytes = BlockCount(acked.size()) * kCrcEntrySize + 1;
      const uint64_t regions[3] = {kSlotOffset[(where >> 8) & 1] + (where >> 9) % kSlotSize,
                                   kCrcTableOffset + (where >> 8) % table_bytes,
                                   kDataOffset + (where >> 8) % (acked.size() + 1)};
      FlipByte(env, env.paths.chunk, regions[where % 3], mask);
      break;
    }
    case 3: {
      auto f = env.fs->OpenFile(env.paths.chunk, OpenMode::kReadWrite);
      Check(f.ok());
      const uint64_t size = *(*f)->Size();
      Check((*f)->Truncate(where % (size + 1)).ok());
      break;
    }
    case 4:
      FlipByte(env, env.paths.meta, where % kMetaSize, mask);
      break;
    default:
      break;
  }
  auto r = env.Load();
  const bool intact = damage == 0 || damage == 1;
  if (intact) {
    Check(r.ok());
    const ReplicaState st = (*r)->State();
    Check(st.sealed == sealed && st.epoch == epoch);
    Check(st.length == acked.size() || (!in_flight.empty() && st.length == acked.size() + in_flight.size()));
    if (st.length > acked.size()) acked += in_flight;
  } else if (!r.ok()) {
    Check(!r.status().message().empty());
    return;
  }
  bool read_ok = false;
  const std::string out = CheckLoaded(env, std::move(*r), &read_ok);
  if (intact) {
    Check(read_ok && out == acked);
  } else if (read_ok) {
    Check(out.size() <= acked.size() && acked.compare(0, out.size(), out) == 0);
  }
}

// The seeds: files and op lists of real replicas.
void WriteSeeds(const std::string& dir) {
  auto put = [&](const std::string& name, const std::string& bytes) {
    FILE* f = std::fopen((dir + "/" + name).c_str(), "wb");
    Check(f != nullptr);
    Check(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
    Check(std::fclose(f) == 0);
  };
  // Structured: mode 1, epoch, ops (kind, u16 arg), damage, where, mask.
  struct Script {
    const char* name;
    std::vector<std::pair<uint8_t, uint16_t>> ops;
    uint8_t damage;
  };
  const Script scripts[] = {
      {"structured-sync-appends", {{0, 99}, {0, 4095}, {0, 5000}}, 0},
      {"structured-memory-then-flush", {{1, 300}, {1, 8191}, {2, 0}, {0, 10}}, 0},
      {"structured-sealed", {{0, 4096}, {0, 17}, {3, 0}}, 0},
      {"structured-torn-append", {{0, 4000}, {1, 200}}, 1},
      {"structured-flipped-data", {{0, 8999}}, 2},
      {"structured-cut", {{0, 6000}, {0, 6000}}, 3},
  };
  for (const Script& s : scripts) {
    std::string bytes(1, '\x01');
    bytes.push_back('\x03');  // epoch 4
    for (const auto& [kind, arg] : s.ops) {
      bytes.push_back(static_cast<char>(kind));
      PutBigEndian(&bytes, arg, 2);
    }
    bytes.push_back(static_cast<char>(s.damage));
    PutBigEndian(&bytes, 0x00012302, 4);
    bytes.push_back('\x10');
    PutBigEndian(&bytes, 5000, 2);  // a torn append's size, parts, prefix
    bytes.push_back('\x05');
    PutBigEndian(&bytes, 1200, 2);
    put(s.name, bytes);
    // Raw: the same replica's files as the real code left them.
    std::string_view in(bytes);
    in.remove_prefix(1);
    Env env;
    uint64_t epoch = 0;
    bool sealed = false;
    const std::string acked = WriteReplica(env, in, &epoch, &sealed);
    const std::string meta = env.ReadFile(env.paths.meta);

    std::string raw(1, '\x00');
    raw.push_back('\x00');
    raw.push_back(static_cast<char>(meta.size()));
    raw += meta;
    const uint64_t header = kSlotOffset[1] + kSlotSize;
    PutBigEndian(&raw, header, 2);
    raw += env.ReadFile(env.paths.chunk, 0, header);
    const uint64_t table = BlockCount(acked.size()) * kCrcEntrySize;
    PutBigEndian(&raw, table, 2);
    raw += env.ReadFile(env.paths.chunk, kCrcTableOffset, table);
    raw += env.ReadFile(env.paths.chunk, kDataOffset, acked.size());
    put(std::string("raw") + (s.name + std::string_view("structured").size()), raw);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("REPLICA_LOAD_FUZZ_WRITE_SEEDS")) {
    WriteSeeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 64 * 1024) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    FuzzRaw(in);
  } else {
    FuzzStructured(in);
  }
  return 0;
}
