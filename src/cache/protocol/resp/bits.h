// Bit-level helpers for the bitmap commands (cmd_bitmap.cc): bits are
// numbered as Redis numbers them, bit 0 being the most significant bit of
// byte 0, so a bitmap is the same string in both servers. Bit fields
// (BITFIELD) are big-endian runs of 1..64 bits starting at any bit, and
// overflow is handled by Redis's three policies (WRAP, SAT, FAIL).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace strata::cache::resp::bits {

// Set bits in the bit range [from, to] of `s`.
// REQUIRES: from <= to < 8 * s.size().
int64_t Count(std::string_view s, uint64_t from, uint64_t to);

// The first bit equal to `bit` in the bit range [from, to] of `s`, or -1.
// REQUIRES: from <= to < 8 * s.size().
int64_t FindFirst(std::string_view s, bool bit, uint64_t from, uint64_t to);

// Reads `width` (1..64) bits at bit `offset`; bytes past the end of `s` read
// as zero.
uint64_t GetUnsigned(std::string_view s, uint64_t offset, int width);
int64_t GetSigned(std::string_view s, uint64_t offset, int width);
// Writes the low `width` bits of `value` at bit `offset`.
// REQUIRES: offset + width <= 8 * size.
void Set(char* s, uint64_t offset, int width, uint64_t value);

enum class Overflow { kWrap, kSat, kFail };

// `value + incr` in a field of `width` bits, signed or not, under `policy`;
// nullopt when it overflows under kFail. For unsigned fields `value` is the
// stored (or SET) bit pattern read as unsigned.
std::optional<int64_t> AddSigned(int64_t value, int64_t incr, int width, Overflow policy);
std::optional<uint64_t> AddUnsigned(uint64_t value, int64_t incr, int width, Overflow policy);

}  // namespace strata::cache::resp::bits
