#include "cache/protocol/resp/hyperloglog.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace strata::cache::resp::hll {
namespace {

constexpr int kP = 14;                       // register index bits
constexpr int kQ = 64 - kP;                  // bits left for the zero run
constexpr uint8_t kRegisterMax = 63;
constexpr uint8_t kEncDense = 0, kEncSparse = 1;
constexpr int kSparseValMax = 32, kSparseValMaxLen = 4, kSparseZeroMaxLen = 64;
constexpr double kAlphaInf = 0.721347520444481703680;  // 0.5 / ln(2)

// Sparse opcodes: ZERO 00xxxxxx (1..64 zero registers), XZERO 01xxxxxx
// xxxxxxxx (1..16384 zero registers), VAL 1vvvvvxx (1..4 registers of value
// 1..32).
bool IsZero(uint8_t b) { return (b & 0xc0) == 0; }
bool IsXZero(uint8_t b) { return (b & 0xc0) == 0x40; }
bool IsVal(uint8_t b) { return (b & 0x80) != 0; }
int ZeroLen(uint8_t b) { return (b & 0x3f) + 1; }
int XZeroLen(uint8_t b0, uint8_t b1) { return (((b0 & 0x3f) << 8) | b1) + 1; }
int ValValue(uint8_t b) { return ((b >> 2) & 0x1f) + 1; }
int ValLen(uint8_t b) { return (b & 0x3) + 1; }
uint8_t ValOp(int value, int len) { return static_cast<uint8_t>(0x80 | ((value - 1) << 2) | (len - 1)); }

uint8_t At(std::string_view v, size_t i) { return static_cast<uint8_t>(v[i]); }

// Appends a ZERO or XZERO run of `len` registers.
void PutZeros(std::string* seq, int len) {
  if (len > kSparseZeroMaxLen) {
    seq->push_back(static_cast<char>(((len - 1) >> 8) | 0x40));
    seq->push_back(static_cast<char>((len - 1) & 0xff));
  } else {
    seq->push_back(static_cast<char>(len - 1));
  }
}

// Dense registers: 6 bits each, least significant bits first.
uint8_t DenseGet(std::string_view regs, size_t i) {
  size_t byte = i * 6 / 8, fb = i * 6 & 7;
  unsigned b0 = At(regs, byte), b1 = byte + 1 < regs.size() ? At(regs, byte + 1) : 0;
  return static_cast<uint8_t>(((b0 >> fb) | (b1 << (8 - fb))) & kRegisterMax);
}
void DenseSet(char* regs, size_t size, size_t i, uint8_t val) {
  size_t byte = i * 6 / 8, fb = i * 6 & 7;
  auto* p = reinterpret_cast<uint8_t*>(regs);
  p[byte] = static_cast<uint8_t>((p[byte] & ~(kRegisterMax << fb)) | (val << fb));
  if (byte + 1 < size) {
    p[byte + 1] = static_cast<uint8_t>((p[byte + 1] & ~(kRegisterMax >> (8 - fb))) | (val >> (8 - fb)));
  }
}

// The register an element goes to and the length of its zero run plus one.
uint8_t PatternLength(std::string_view element, size_t* index) {
  uint64_t hash = MurmurHash64A(element, 0xadc83b19ULL);
  *index = hash & (kRegisters - 1);
  hash >>= kP;
  hash |= uint64_t{1} << kQ;  // the run ends by bit Q: a count of at most Q+1
  return static_cast<uint8_t>(std::countr_zero(hash) + 1);
}

int DenseSetMax(std::string* v, size_t index, uint8_t count) {
  std::string_view regs = std::string_view(*v).substr(kHeaderBytes);
  if (DenseGet(regs, index) >= count) return 0;
  DenseSet(v->data() + kHeaderBytes, v->size() - kHeaderBytes, index, count);
  return 1;
}

// After a sparse update, adjacent VAL opcodes of equal value are merged, up
// to five opcodes from the one before the change, as Redis does (so the
// bytes stay identical to a Redis-made value).
void MergeAdjacentVals(std::string* v, size_t from) {
  size_t p = from;
  int scan = 5;
  while (p < v->size() && scan-- > 0) {
    uint8_t b = At(*v, p);
    if (IsXZero(b)) {
      p += 2;
      continue;
    }
    if (IsZero(b)) {
      p++;
      continue;
    }
    if (p + 1 < v->size() && IsVal(At(*v, p + 1))) {
      int v1 = ValValue(b), v2 = ValValue(At(*v, p + 1));
      int len = ValLen(b) + ValLen(At(*v, p + 1));
      if (v1 == v2 && len <= kSparseValMaxLen) {
        (*v)[p + 1] = static_cast<char>(ValOp(v1, len));
        v->erase(p, 1);
        continue;  // try the merged opcode against the next one
      }
    }
    p++;
  }
}

int SparseSet(std::string* v, size_t index, uint8_t count) {
  if (count > kSparseValMax) {
    if (!ToDense(v)) return -1;
    return DenseSetMax(v, index, count);
  }
  // Find the opcode covering `index`.
  size_t p = kHeaderBytes, end = v->size(), prev = 0;
  bool has_prev = false;
  size_t first = 0, span = 0;
  while (p < end) {
    uint8_t b = At(*v, p);
    size_t oplen = 1;
    if (IsZero(b)) {
      span = ZeroLen(b);
    } else if (IsVal(b)) {
      span = ValLen(b);
    } else {
      if (p + 1 >= end) return -1;
      span = XZeroLen(b, At(*v, p + 1));
      oplen = 2;
    }
    if (index <= first + span - 1) break;
    prev = p;
    has_prev = true;
    p += oplen;
    first += span;
  }
  if (span == 0 || p >= end) return -1;
  uint8_t b = At(*v, p);
  size_t runlen = span;
  bool is_val = IsVal(b), is_xzero = IsXZero(b);
  if (is_val) {
    if (ValValue(b) >= count) return 0;
  }
  if ((is_val || IsZero(b)) && runlen == 1) {
    (*v)[p] = static_cast<char>(ValOp(count, 1));
  } else {
    // Split the opcode into up to three: before, the register, after.
    std::string seq;
    size_t last = first + span - 1;
    if (is_val) {
      int cur = ValValue(b);
      if (index != first) seq.push_back(static_cast<char>(ValOp(cur, static_cast<int>(index - first))));
      seq.push_back(static_cast<char>(ValOp(count, 1)));
      if (index != last) seq.push_back(static_cast<char>(ValOp(cur, static_cast<int>(last - index))));
    } else {
      if (index != first) PutZeros(&seq, static_cast<int>(index - first));
      seq.push_back(static_cast<char>(ValOp(count, 1)));
      if (index != last) PutZeros(&seq, static_cast<int>(last - index));
    }
    size_t oldlen = is_xzero ? 2 : 1;
    if (seq.size() > oldlen && v->size() + seq.size() - oldlen > kSparseMaxBytes) {
      if (!ToDense(v)) return -1;
      return DenseSetMax(v, index, count);
    }
    v->replace(p, oldlen, seq);
  }
  MergeAdjacentVals(v, has_prev ? prev : kHeaderBytes);
  InvalidateCache(v);
  return 1;
}

// Adds the registers of a sparse value to `histo` (histogram of values);
// false when the runs do not cover exactly kRegisters registers.
bool SparseHistogram(std::string_view v, int* histo) {
  size_t idx = 0;
  for (size_t p = kHeaderBytes; p < v.size();) {
    uint8_t b = At(v, p);
    if (IsZero(b)) {
      idx += ZeroLen(b);
      histo[0] += ZeroLen(b);
      p++;
    } else if (IsXZero(b)) {
      if (p + 1 >= v.size()) return false;
      int n = XZeroLen(b, At(v, p + 1));
      idx += n;
      histo[0] += n;
      p += 2;
    } else {
      idx += ValLen(b);
      histo[ValValue(b)] += ValLen(b);
      p++;
    }
  }
  return idx == kRegisters;
}

double Sigma(double x) {
  if (x == 1.) return INFINITY;
  double z_prev, y = 1, z = x;
  do {
    x *= x;
    z_prev = z;
    z += x * y;
    y += y;
  } while (z_prev != z);
  return z;
}

double Tau(double x) {
  if (x == 0. || x == 1.) return 0.;
  double z_prev, y = 1.0, z = 1 - x;
  do {
    x = std::sqrt(x);
    z_prev = z;
    y *= 0.5;
    z -= std::pow(1 - x, 2) * y;
  } while (z_prev != z);
  return z / 3;
}

uint64_t Estimate(const int* histo) {
  const double m = kRegisters;
  double z = m * Tau((m - histo[kQ + 1]) / m);
  for (int j = kQ; j >= 1; --j) {
    z += histo[j];
    z *= 0.5;
  }
  z += m * Sigma(histo[0] / m);
  return static_cast<uint64_t>(std::llround(kAlphaInf * m * m / z));
}

}  // namespace

uint64_t MurmurHash64A(std::string_view key, uint64_t seed) {
  const uint64_t m = 0xc6a4a7935bd1e995ULL;
  const int r = 47;
  uint64_t h = seed ^ (key.size() * m);
  const auto* data = reinterpret_cast<const uint8_t*>(key.data());
  size_t blocks = key.size() / 8;
  for (size_t i = 0; i < blocks; i++) {
    uint64_t k = 0;
    for (int j = 7; j >= 0; j--) k = (k << 8) | data[i * 8 + j];  // little-endian, as Redis on any host
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
  }
  const uint8_t* tail = data + blocks * 8;
  size_t rest = key.size() & 7;
  if (rest > 0) {
    for (size_t j = rest; j-- > 0;) h ^= static_cast<uint64_t>(tail[j]) << (8 * j);
    h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

std::string Empty() {
  std::string v("HYLL", 4);
  v.push_back(static_cast<char>(kEncSparse));
  v.append(11, '\0');
  PutZeros(&v, static_cast<int>(kRegisters));
  return v;
}

bool LooksValid(std::string_view v) {
  if (v.size() < kHeaderBytes || v.substr(0, 4) != "HYLL") return false;
  uint8_t enc = At(v, 4);
  if (enc > kEncSparse) return false;
  return enc != kEncDense || v.size() == kDenseBytes;
}

bool IsDense(std::string_view v) { return At(v, 4) == kEncDense; }

int Add(std::string* v, std::string_view element) {
  size_t index;
  uint8_t count = PatternLength(element, &index);
  return SetRegister(v, index, count);
}

int SetRegister(std::string* v, size_t index, uint8_t count) {
  if (!IsDense(*v)) return SparseSet(v, index, count);
  int r = DenseSetMax(v, index, count);
  if (r == 1) InvalidateCache(v);
  return r;
}

bool ToDense(std::string* v) {
  if (IsDense(*v)) return true;
  std::string dense(v->substr(0, kHeaderBytes));  // magic and cached cardinality carry over
  dense[4] = static_cast<char>(kEncDense);
  dense.resize(kDenseBytes, '\0');
  size_t idx = 0;
  for (size_t p = kHeaderBytes; p < v->size();) {
    uint8_t b = At(*v, p);
    if (IsZero(b)) {
      idx += ZeroLen(b);
      p++;
    } else if (IsXZero(b)) {
      if (p + 1 >= v->size()) return false;
      idx += XZeroLen(b, At(*v, p + 1));
      p += 2;
    } else {
      size_t n = ValLen(b);
      if (idx + n > kRegisters) return false;
      for (size_t i = 0; i < n; i++) {
        DenseSet(dense.data() + kHeaderBytes, dense.size() - kHeaderBytes, idx++, static_cast<uint8_t>(ValValue(b)));
      }
      p++;
    }
  }
  if (idx != kRegisters) return false;
  *v = std::move(dense);
  return true;
}

bool MergeInto(std::string_view v, uint8_t* max) {
  if (IsDense(v)) {
    std::string_view regs = v.substr(kHeaderBytes);
    for (size_t i = 0; i < kRegisters; i++) max[i] = std::max(max[i], DenseGet(regs, i));
    return true;
  }
  size_t idx = 0;
  for (size_t p = kHeaderBytes; p < v.size();) {
    uint8_t b = At(v, p);
    if (IsZero(b)) {
      idx += ZeroLen(b);
      p++;
    } else if (IsXZero(b)) {
      if (p + 1 >= v.size()) return false;
      idx += XZeroLen(b, At(v, p + 1));
      p += 2;
    } else {
      size_t n = ValLen(b);
      if (idx + n > kRegisters) return false;
      for (size_t i = 0; i < n; i++, idx++) max[idx] = std::max(max[idx], static_cast<uint8_t>(ValValue(b)));
      p++;
    }
  }
  return idx == kRegisters;
}

std::optional<uint64_t> Count(std::string_view v) {
  int histo[64] = {0};
  if (IsDense(v)) {
    std::string_view regs = v.substr(kHeaderBytes);
    for (size_t i = 0; i < kRegisters; i++) histo[DenseGet(regs, i)]++;
  } else if (!SparseHistogram(v, histo)) {
    return std::nullopt;
  }
  return Estimate(histo);
}

uint64_t CountRegisters(const uint8_t* registers) {
  int histo[64] = {0};
  for (size_t i = 0; i < kRegisters; i++) histo[registers[i] & kRegisterMax]++;
  return Estimate(histo);
}

std::optional<uint64_t> CachedCount(std::string_view v) {
  if (At(v, 15) & 0x80) return std::nullopt;
  uint64_t c = 0;
  for (int i = 7; i >= 0; i--) c = (c << 8) | At(v, 8 + static_cast<size_t>(i));
  return c;
}

void SetCachedCount(std::string* v, uint64_t card) {
  for (size_t i = 0; i < 8; i++) (*v)[8 + i] = static_cast<char>((card >> (8 * i)) & 0xff);
}

void InvalidateCache(std::string* v) { (*v)[15] = static_cast<char>(At(*v, 15) | 0x80); }

}  // namespace strata::cache::resp::hll
