#include "block/client/volume_layout.h"

#include <algorithm>

namespace strata::block {

VolumeLayout::VolumeLayout(const VolumeGeometry& g)
    : segment_(g.segment_size_bytes()), n_(std::max<uint32_t>(1, g.segments_per_group())),
      stripe_(g.stripe_unit_bytes() ? g.stripe_unit_bytes() : g.segment_size_bytes()) {}

SegmentPiece VolumeLayout::Locate(uint64_t offset) const {
  uint64_t group_bytes = segment_ * n_;
  uint64_t g = offset / group_bytes;
  uint64_t within = offset % group_bytes;
  uint64_t unit = within / stripe_;
  SegmentPiece p;
  p.segment = static_cast<uint32_t>(g * n_ + unit % n_);
  p.segment_offset = (unit / n_) * stripe_ + within % stripe_;
  p.volume_offset = offset;
  p.length = stripe_ - within % stripe_;
  return p;
}

std::vector<SegmentPiece> VolumeLayout::Map(uint64_t offset, uint64_t length) const {
  std::vector<SegmentPiece> pieces;
  uint64_t end = offset + length;
  while (offset < end) {
    SegmentPiece p = Locate(offset);
    p.length = std::min(p.length, end - offset);
    pieces.push_back(p);
    offset += p.length;
  }
  return pieces;
}

}  // namespace strata::block
