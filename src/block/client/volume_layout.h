// VolumeLayout: how a volume's byte addresses map onto its segments
// (DESIGN.md section 3, docs/block.md).
//
// The address space is cut into segment groups of `segments_per_group`
// segments. Inside a group, stripe units of `stripe_unit_bytes` are dealt
// round-robin: unit u of the group lives in segment u % n of the group, at
// row u / n of that segment, so a sequential stream and a hot disk both
// spread over n blockservers.
//
//   group g = offset / (segment_size * n)
//   unit u  = (offset % group_bytes) / stripe
//   segment = g * n + u % n,  offset in it = (u / n) * stripe + offset % stripe
//
// Thread-safety: a value type.
#pragma once

#include <cstdint>
#include <vector>

#include "block.pb.h"

namespace strata::block {

struct SegmentPiece {
  uint32_t segment = 0;        // index in the volume
  uint64_t segment_offset = 0;
  uint64_t volume_offset = 0;
  uint64_t length = 0;         // never crosses a stripe unit
};

class VolumeLayout {
 public:
  explicit VolumeLayout(const VolumeGeometry& g);
  // The pieces of [offset, offset + length), in volume order.
  std::vector<SegmentPiece> Map(uint64_t offset, uint64_t length) const;
  // Where one byte of the volume lives.
  SegmentPiece Locate(uint64_t offset) const;
  uint64_t stripe_unit_bytes() const { return stripe_; }
  uint32_t segments_per_group() const { return n_; }
  uint64_t segment_size_bytes() const { return segment_; }

 private:
  uint64_t segment_;
  uint32_t n_;
  uint64_t stripe_;
};

}  // namespace strata::block
