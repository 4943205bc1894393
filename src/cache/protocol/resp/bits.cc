#include "cache/protocol/resp/bits.h"

#include <bit>
#include <cstring>
#include <limits>

namespace strata::cache::resp::bits {
namespace {

uint8_t Byte(std::string_view s, uint64_t i) { return i < s.size() ? static_cast<uint8_t>(s[i]) : 0; }

// The bits of a byte from bit `lo` to bit `hi` (0 = MSB), as a mask.
uint8_t Mask(unsigned lo, unsigned hi) { return static_cast<uint8_t>((0xFFu >> lo) & (0xFFu << (7 - hi))); }

}  // namespace

int64_t Count(std::string_view s, uint64_t from, uint64_t to) {
  uint64_t fb = from >> 3, lb = to >> 3;
  if (fb == lb) return std::popcount(static_cast<uint8_t>(Byte(s, fb) & Mask(from & 7, to & 7)));
  int64_t n = std::popcount(static_cast<uint8_t>(Byte(s, fb) & Mask(from & 7, 7)));
  n += std::popcount(static_cast<uint8_t>(Byte(s, lb) & Mask(0, to & 7)));
  uint64_t i = fb + 1;
  for (; i + 8 <= lb; i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    n += std::popcount(w);
  }
  for (; i < lb; i++) n += std::popcount(Byte(s, i));
  return n;
}

int64_t FindFirst(std::string_view s, bool bit, uint64_t from, uint64_t to) {
  const uint8_t skip = bit ? 0x00 : 0xFF;  // a byte with no bit of interest
  uint64_t i = from;
  while (i <= to) {
    if ((i & 7) == 0 && i + 7 <= to && Byte(s, i >> 3) == skip) {
      i += 8;
      continue;
    }
    bool b = (Byte(s, i >> 3) >> (7 - (i & 7))) & 1;
    if (b == bit) return static_cast<int64_t>(i);
    i++;
  }
  return -1;
}

uint64_t GetUnsigned(std::string_view s, uint64_t offset, int width) {
  uint64_t v = 0;
  for (int j = 0; j < width; j++, offset++) v = (v << 1) | ((Byte(s, offset >> 3) >> (7 - (offset & 7))) & 1);
  return v;
}

int64_t GetSigned(std::string_view s, uint64_t offset, int width) {
  uint64_t v = GetUnsigned(s, offset, width);
  if (width < 64 && (v >> (width - 1)) & 1) v |= ~uint64_t{0} << width;  // sign-extend
  return static_cast<int64_t>(v);
}

void Set(char* s, uint64_t offset, int width, uint64_t value) {
  for (int j = width - 1; j >= 0; j--, offset++) {
    uint8_t m = static_cast<uint8_t>(1u << (7 - (offset & 7)));
    auto& b = reinterpret_cast<uint8_t&>(s[offset >> 3]);
    if ((value >> j) & 1) b |= m;
    else b &= static_cast<uint8_t>(~m);
  }
}

std::optional<int64_t> AddSigned(int64_t value, int64_t incr, int width, Overflow policy) {
  const __int128 max = width == 64 ? std::numeric_limits<int64_t>::max() : (int64_t{1} << (width - 1)) - 1;
  const __int128 min = -max - 1;
  __int128 sum = static_cast<__int128>(value) + incr;
  if (sum >= min && sum <= max) return static_cast<int64_t>(sum);
  if (policy == Overflow::kFail) return std::nullopt;
  if (policy == Overflow::kSat) return static_cast<int64_t>(sum > max ? max : min);
  // Two's complement wrap: keep the low `width` bits and sign-extend them.
  uint64_t c = static_cast<uint64_t>(value) + static_cast<uint64_t>(incr);
  if (width < 64) {
    uint64_t high = ~uint64_t{0} << width;
    c = (c >> (width - 1)) & 1 ? c | high : c & ~high;
  }
  return static_cast<int64_t>(c);
}

std::optional<uint64_t> AddUnsigned(uint64_t value, int64_t incr, int width, Overflow policy) {
  const __int128 max = width == 64 ? std::numeric_limits<uint64_t>::max() : (uint64_t{1} << width) - 1;
  __int128 sum = static_cast<__int128>(value) + incr;
  if (sum >= 0 && sum <= max) return static_cast<uint64_t>(sum);
  if (policy == Overflow::kFail) return std::nullopt;
  if (policy == Overflow::kSat) return sum > max ? static_cast<uint64_t>(max) : 0;
  uint64_t c = value + static_cast<uint64_t>(incr);
  return width == 64 ? c : c & ((uint64_t{1} << width) - 1);
}

}  // namespace strata::cache::resp::bits
