#include "common/crc32c.h"

#include <isa-l/crc.h>

#include <climits>

namespace strata {

uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t size) {
  // ISA-L works on the raw register: pre- and post-invert for the standard form.
  uint32_t reg = ~crc;
  auto* p = static_cast<unsigned char*>(const_cast<void*>(data));
  while (size > 0) {
    int n = size > static_cast<size_t>(INT_MAX) ? INT_MAX : static_cast<int>(size);
    reg = crc32_iscsi(p, n, reg);
    p += n;
    size -= static_cast<size_t>(n);
  }
  return ~reg;
}

uint32_t Crc32c(const void* data, size_t size) { return Crc32cExtend(0, data, size); }

}  // namespace strata
