#include "block/server/paged_buffer.h"

#include <algorithm>
#include <cstring>

namespace strata::block {

PagedBuffer::PagedBuffer(uint32_t page_bytes) : page_bytes_(std::max<uint32_t>(page_bytes, 1)) {}

void PagedBuffer::Append(std::string_view bytes) {
  while (!bytes.empty()) {
    if (pages_.empty() || pages_.back()->size() == page_bytes_) {
      pages_.push_back(std::make_shared<std::string>());
      pages_.back()->reserve(page_bytes_);
    }
    std::string& last = *pages_.back();
    const size_t take = std::min<size_t>(bytes.size(), page_bytes_ - last.size());
    last.append(bytes.data(), take);
    bytes.remove_prefix(take);
    size_ += take;
  }
}

bool PagedBuffer::CopyOut(uint64_t offset, uint64_t n, char* out) const {
  if (offset > size_ || n > size_ - offset) return false;
  for (uint64_t pos = offset; pos < offset + n;) {
    const std::string& page = *pages_[pos / page_bytes_];
    const uint64_t in_page = pos % page_bytes_;
    const uint64_t take = std::min<uint64_t>(page.size() - in_page, offset + n - pos);
    std::memcpy(out + (pos - offset), page.data() + in_page, take);
    pos += take;
  }
  return true;
}

std::string PagedBuffer::Substr(uint64_t offset, uint64_t n) const {
  std::string out(n, '\0');
  if (!CopyOut(offset, n, out.data())) return {};
  return out;
}

std::vector<std::shared_ptr<const std::string>> PagedBuffer::pages() const {
  return {pages_.begin(), pages_.end()};
}

void PagedBuffer::Clear() {
  pages_.clear();
  size_ = 0;
}

}  // namespace strata::block
