// Volume names and geometry: the rules a volume must satisfy and the
// arithmetic that cuts its address space into segments (DESIGN.md section 3).
//
// A volume of `size_bytes` is cut into segment groups of `segments_per_group`
// segments of `segment_size_bytes` each; inside a group, stripe units of
// `stripe_unit_bytes` are dealt round-robin over its segments (RAID-0), so a
// volume always has whole groups: segment_count = ceil(size / group bytes) *
// segments_per_group. Growing a volume appends groups; the mapping of the
// bytes that existed before never changes.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "manager_records.pb.h"

namespace strata::block::manager {

inline constexpr size_t kVolumeNameBytesMax = 64;
inline constexpr uint32_t kBlockSizeMin = 512;
inline constexpr uint32_t kBlockSizeMax = 64u << 10;
inline constexpr uint32_t kSegmentsPerGroupMax = 64;
inline constexpr uint64_t kSegmentSizeMaxBytes = 1ull << 40;
// Keeps every size computation far from 64-bit overflow.
inline constexpr uint64_t kVolumeSizeLimitBytes = 1ull << 60;

// 1..64 characters of [A-Za-z0-9._-], not starting with '.' or '-'.
Status ValidateVolumeName(std::string_view name);

// block_size a power of two in [512, 64 KiB]; stripe unit a multiple of the
// block size; segment size a multiple of the stripe unit, at most 1 TiB;
// 1..64 segments per group.
Status ValidateGeometry(const GeometryRecord& g);

// `requested` with each zero field taken from `defaults`.
GeometryRecord ResolveGeometry(const GeometryRecord& requested, const GeometryRecord& defaults);

// `size_bytes` rounded up to a whole block. REQUIRES: size_bytes <= kVolumeSizeLimitBytes.
uint64_t RoundUpToBlock(uint64_t size_bytes, uint32_t block_size);

// Segments (whole groups) a volume of `size_bytes` needs.
uint64_t SegmentCountFor(uint64_t size_bytes, const GeometryRecord& g);

// The control-plane partition of a volume: a stable hash (SplitMix64's
// finalizer) of its id modulo `partitions`. Never changes for a volume.
uint32_t VolumePartition(uint64_t volume_id, uint32_t partitions);

// "20 GiB" when exact in the largest unit that divides it, else "1000 bytes";
// for messages that must name a size without rounding it.
std::string FormatSize(uint64_t bytes);

// The dfs directory holding a volume's data files: /block/v<id> (decimal).
std::string VolumeDataDir(uint64_t volume_id);

}  // namespace strata::block::manager
