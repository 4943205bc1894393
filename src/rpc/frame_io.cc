#include "rpc/frame_io.h"

#include <array>

namespace strata::rpc {

OutFrame MakeOutFrame(FrameHeader h, std::string meta, std::string bulk) {
  OutFrame out;
  h.meta_len = static_cast<uint32_t>(meta.size());
  h.bulk_len = static_cast<uint32_t>(bulk.size());
  h.body_crc = BodyCrc(meta, bulk);
  EncodeFrameHeader(h, out.header);
  out.meta = std::move(meta);
  out.bulk = std::move(bulk);
  return out;
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
  std::array<asio::const_buffer, 3> bufs{asio::buffer(frame.header, kFrameHeaderSize), asio::buffer(frame.meta),
                                         asio::buffer(frame.bulk)};
  asio::error_code ec;
  co_await asio::async_write(socket, bufs, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Status::Unavailable("write failed: " + ec.message());
  co_return Status::Ok();
}

}  // namespace strata::rpc
