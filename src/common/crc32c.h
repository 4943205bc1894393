// CRC32C (Castagnoli), the checksum of every frame on the wire and every
// 4 KiB of every chunk on disk. Backed by ISA-L's crc32_iscsi, which uses the
// SSE4.2 crc32 instruction (or PCLMUL folding) where the CPU has it.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace strata {

// Standard CRC32C of `data`; Crc32c("123456789") == 0xE3069283.
uint32_t Crc32c(const void* data, size_t size);
inline uint32_t Crc32c(std::string_view s) { return Crc32c(s.data(), s.size()); }

// Continues a running CRC: Crc32cExtend(Crc32c(a), b) == Crc32c(a + b).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t size);

}  // namespace strata
