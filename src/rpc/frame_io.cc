#include "rpc/frame_io.h"


#include <algorithm>
#include <array>

namespace strata::rpc {

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

}  // namespace strata::rpc
