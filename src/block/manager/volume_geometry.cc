#include "block/manager/volume_geometry.h"

#include <fmt/format.h>

namespace strata::block::manager {

Status ValidateVolumeName(std::string_view name) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(fmt::format("invalid volume name '{}': {}", name.substr(0, 80), why));
  };
  if (name.empty()) return Status::InvalidArgument("invalid volume name: it is empty");
  if (name.size() > kVolumeNameBytesMax) return bad(fmt::format("longer than {} characters", kVolumeNameBytesMax));
  if (name[0] == '.' || name[0] == '-') return bad("must not start with '.' or '-'");
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-';
    if (!ok) return bad("only letters, digits, '.', '_' and '-' are allowed");
  }
  return Status::Ok();
}

Status ValidateGeometry(const GeometryRecord& g) {
  auto bad = [](const std::string& why) { return Status::InvalidArgument("volume geometry: " + why); };
  uint32_t b = g.block_size();
  if (b < kBlockSizeMin || b > kBlockSizeMax || (b & (b - 1)) != 0) {
    return bad(fmt::format("block size {} is not a power of two in [{}, {}]", b, kBlockSizeMin, kBlockSizeMax));
  }
  if (g.stripe_unit_bytes() == 0 || g.stripe_unit_bytes() % b != 0) {
    return bad(fmt::format("stripe unit {} is not a multiple of the block size {}", g.stripe_unit_bytes(), b));
  }
  if (g.segment_size_bytes() == 0 || g.segment_size_bytes() % g.stripe_unit_bytes() != 0) {
    return bad(fmt::format("segment size {} is not a multiple of the stripe unit {}", g.segment_size_bytes(),
                           g.stripe_unit_bytes()));
  }
  if (g.segment_size_bytes() > kSegmentSizeMaxBytes) {
    return bad(fmt::format("segment size {} is over {}", g.segment_size_bytes(), kSegmentSizeMaxBytes));
  }
  if (g.segments_per_group() == 0 || g.segments_per_group() > kSegmentsPerGroupMax) {
    return bad(fmt::format("segments per group must be in [1, {}], not {}", kSegmentsPerGroupMax,
                           g.segments_per_group()));
  }
  return Status::Ok();
}

GeometryRecord ResolveGeometry(const GeometryRecord& requested, const GeometryRecord& defaults) {
  GeometryRecord g = defaults;
  if (requested.block_size() != 0) g.set_block_size(requested.block_size());
  if (requested.segment_size_bytes() != 0) g.set_segment_size_bytes(requested.segment_size_bytes());
  if (requested.segments_per_group() != 0) g.set_segments_per_group(requested.segments_per_group());
  if (requested.stripe_unit_bytes() != 0) g.set_stripe_unit_bytes(requested.stripe_unit_bytes());
  return g;
}

uint64_t RoundUpToBlock(uint64_t size_bytes, uint32_t block_size) {
  return (size_bytes + block_size - 1) / block_size * block_size;
}

uint64_t SegmentCountFor(uint64_t size_bytes, const GeometryRecord& g) {
  uint64_t group_bytes = g.segment_size_bytes() * g.segments_per_group();
  return (size_bytes + group_bytes - 1) / group_bytes * g.segments_per_group();
}

uint32_t VolumePartition(uint64_t volume_id, uint32_t partitions) {
  uint64_t z = volume_id + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<uint32_t>(z % partitions);
}

std::string FormatSize(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes == 0 || bytes % 1024 != 0) return fmt::format("{} bytes", bytes);
  int unit = -1;
  while (bytes % 1024 == 0 && unit < 5) {
    bytes /= 1024;
    ++unit;
  }
  return fmt::format("{} {}", bytes, kUnits[unit]);
}

std::string VolumeDataDir(uint64_t volume_id) { return fmt::format("/block/v{}", volume_id); }

}  // namespace strata::block::manager
