// HyperLogLog values in Redis's own format, so that a GET of an HLL made
// here can be SET into redis-server and the other way round, with the same
// estimate. The algorithm is Redis's (hyperloglog.c): elements are hashed
// with MurmurHash64A (seed 0xadc83b19); the low 14 bits choose one of 16384
// registers and the run of zeros in the remaining 50 bits, plus one, is the
// register's candidate value. The estimate is Ertl's improved raw estimator
// ("New cardinality estimation algorithms for HyperLogLog sketches", 2017)
// over the register histogram, standard error 1.04/sqrt(16384) = 0.81%.
//
// A value is a 16-byte header ("HYLL", encoding, 3 unused bytes, the cached
// cardinality as 8 little-endian bytes whose top bit set means "stale")
// followed by the registers, either dense (16384 6-bit registers, 12288
// bytes) or sparse (run-length opcodes ZERO, XZERO and VAL), promoted to
// dense past kSparseMaxBytes or when a register exceeds 32. docs/cache.md
// draws the layout.
//
// Thread-safety: pure functions on strings the caller owns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace strata::cache::resp::hll {

inline constexpr size_t kRegisters = 16384;
inline constexpr size_t kHeaderBytes = 16;
inline constexpr size_t kDenseBytes = kHeaderBytes + kRegisters * 6 / 8;
inline constexpr size_t kSparseMaxBytes = 3000;  // Redis's hll-sparse-max-bytes default

// An empty HLL, sparse, with a valid cached cardinality of 0.
std::string Empty();
// Whether `v` has the header of an HLL (magic, a known encoding, the dense
// size when dense); the registers are checked only when read.
bool LooksValid(std::string_view v);
bool IsDense(std::string_view v);

// Adds `element`: 1 when a register grew, 0 when none did, -1 when the
// registers are corrupt. REQUIRES: LooksValid(*v).
int Add(std::string* v, std::string_view element);
// Raises register `index` to `count` if lower (sparse values may turn
// dense); as Add. REQUIRES: LooksValid(*v).
int SetRegister(std::string* v, size_t index, uint8_t count);
// Converts to the dense encoding; false when corrupt.
bool ToDense(std::string* v);
// max[i] = max(max[i], register i) for all registers; false when corrupt.
bool MergeInto(std::string_view v, uint8_t* max);

// The estimate from the registers; nullopt when corrupt.
std::optional<uint64_t> Count(std::string_view v);
uint64_t CountRegisters(const uint8_t* registers);  // kRegisters bytes

std::optional<uint64_t> CachedCount(std::string_view v);
void SetCachedCount(std::string* v, uint64_t card);
void InvalidateCache(std::string* v);

uint64_t MurmurHash64A(std::string_view key, uint64_t seed);

}  // namespace strata::cache::resp::hll
