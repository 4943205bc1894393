#include "rpc/frame.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <bit>
#include <cerrno>
#include <cstring>

#include "common/crc32c.h"

namespace strata::rpc {
namespace {

template <typename T>
void Put(char* out, size_t at, T v) {
  // Little-endian on the wire; x86 and arm64 are little-endian hosts.
  static_assert(std::endian::native == std::endian::little);
  std::memcpy(out + at, &v, sizeof(T));
}

template <typename T>
T Get(const char* in, size_t at) {
  T v;
  std::memcpy(&v, in + at, sizeof(T));
  return v;
}

}  // namespace

void EncodeFrameHeader(const FrameHeader& h, char* out) {
  Put<uint32_t>(out, 0, kFrameMagic);
  Put<uint8_t>(out, 4, kFrameVersion);
  Put<uint8_t>(out, 5, h.flags);
  Put<uint16_t>(out, 6, h.status);
  Put<uint32_t>(out, 8, h.method);
  Put<uint32_t>(out, 12, h.timeout_ms);
  Put<uint64_t>(out, 16, h.request_id);
  Put<uint32_t>(out, 24, h.meta_len);
  Put<uint32_t>(out, 28, h.bulk_len);
  Put<uint32_t>(out, 32, h.body_crc);
  Put<uint32_t>(out, 36, Crc32c(out, 36));
}

Result<FrameHeader> DecodeFrameHeader(const char* in, const FrameLimits& limits) {
  if (Get<uint32_t>(in, 0) != kFrameMagic) return Status::ProtocolError("bad frame magic");
  if (Get<uint8_t>(in, 4) != kFrameVersion) {
    return Status::ProtocolError("unsupported frame version " + std::to_string(Get<uint8_t>(in, 4)));
  }
  if (Get<uint32_t>(in, 36) != Crc32c(in, 36)) return Status::ProtocolError("frame header checksum mismatch");
  FrameHeader h;
  h.flags = Get<uint8_t>(in, 5);
  h.status = Get<uint16_t>(in, 6);
  h.method = Get<uint32_t>(in, 8);
  h.timeout_ms = Get<uint32_t>(in, 12);
  h.request_id = Get<uint64_t>(in, 16);
  h.meta_len = Get<uint32_t>(in, 24);
  h.bulk_len = Get<uint32_t>(in, 28);
  h.body_crc = Get<uint32_t>(in, 32);
  if (h.flags & ~(kFlagReply | kFlagOrdered)) return Status::ProtocolError("unknown frame flags");
  if ((h.flags & kFlagReply) && (h.flags & kFlagOrdered)) return Status::ProtocolError("ordered flag on a reply");
  if (h.meta_len > limits.max_meta_bytes) {
    return Status::ProtocolError("frame message of " + std::to_string(h.meta_len) + " bytes exceeds the limit of " +
                                 std::to_string(limits.max_meta_bytes));
  }
  if (h.bulk_len > limits.max_bulk_bytes) {
    return Status::ProtocolError("frame payload of " + std::to_string(h.bulk_len) + " bytes exceeds the limit of " +
                                 std::to_string(limits.max_bulk_bytes));
  }
  return h;
}

uint32_t BodyCrc(std::string_view meta, std::string_view bulk) {
  return Crc32cExtend(Crc32c(meta), bulk.data(), bulk.size());
}

std::shared_ptr<const FrameBody> MakeFrameBody(std::string meta, std::string bulk) {
  auto body = std::make_shared<FrameBody>();
  body->crc = BodyCrc(meta, bulk);
  body->meta = std::move(meta);
  body->bulk = std::move(bulk);
  return body;
}

OutFrame MakeOutFrame(FrameHeader h, std::shared_ptr<const FrameBody> body) {
  OutFrame out;
  h.meta_len = static_cast<uint32_t>(body->meta.size());
  h.bulk_len = static_cast<uint32_t>(body->bulk.size());
  h.body_crc = body->crc;
  EncodeFrameHeader(h, out.header);
  out.body = std::move(body);
  return out;
}

OutFrame MakeOutFrame(FrameHeader h, std::string meta, std::string bulk) {
  return MakeOutFrame(h, MakeFrameBody(std::move(meta), std::move(bulk)));
}

bool SendFrameNow(int fd, OutFrame& frame) {
  const size_t total = frame.size();
  while (frame.sent < total) {
    iovec iov[4];
    int n = 0;
    size_t skip = frame.sent;
    auto add = [&](const char* p, size_t len) {
      if (skip >= len) {
        skip -= len;
        return;
      }
      iov[n].iov_base = const_cast<char*>(p + skip);
      iov[n].iov_len = len - skip;
      skip = 0;
      n++;
    };
    add(frame.header, kFrameHeaderSize);
    add(frame.tag, frame.tag_len);
    add(frame.body->meta.data(), frame.body->meta.size());
    add(frame.body->bulk.data(), frame.body->bulk.size());
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(n);
    ssize_t w = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    frame.sent += static_cast<size_t>(w);
  }
  return true;
}

}  // namespace strata::rpc
