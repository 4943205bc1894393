#include "rpc/frame_io.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>

#include <algorithm>
#include <array>

namespace strata::rpc {

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

asio::awaitable<Result<Frame>> ReadFrame(asio::ip::tcp::socket& socket, const FrameLimits& limits) {
  char header[kFrameHeaderSize];
  asio::error_code ec;
  co_await asio::async_read(socket, asio::buffer(header), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Status::Unavailable(ec == asio::error::eof ? "connection closed" : ec.message());
  auto decoded = DecodeFrameHeader(header, limits);
  if (!decoded.ok()) co_return decoded.status();
  Frame frame;
  frame.header = *decoded;
  frame.meta.resize(frame.header.meta_len);
  frame.bulk.resize(frame.header.bulk_len);
  std::array<asio::mutable_buffer, 2> body{asio::buffer(frame.meta), asio::buffer(frame.bulk)};
  co_await asio::async_read(socket, body, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Status::Unavailable("connection lost mid-frame: " + ec.message());
  if (BodyCrc(frame.meta, frame.bulk) != frame.header.body_crc) {
    co_return Status::ProtocolError("frame body checksum mismatch");
  }
  co_return frame;
}

asio::awaitable<Status> WriteFrame(asio::ip::tcp::socket& socket, const OutFrame& frame) {
  std::array<asio::const_buffer, 3> bufs{asio::buffer(frame.header, kFrameHeaderSize),
                                         asio::buffer(frame.body->meta), asio::buffer(frame.body->bulk)};
  size_t skip = frame.sent;
  for (auto& b : bufs) {
    size_t n = std::min(skip, b.size());
    b += n;
    skip -= n;
  }
  asio::error_code ec;
  co_await asio::async_write(socket, bufs, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Status::Unavailable("write failed: " + ec.message());
  co_return Status::Ok();
}

bool SendFrameNow(int fd, OutFrame& frame) {
  const size_t total = frame.size();
  while (frame.sent < total) {
    iovec iov[3];
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
