#include "rpc/frame_io.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace strata::rpc {

asio::awaitable<asio::error_code> FrameReader::Fill(asio::ip::tcp::socket& socket, size_t want) {
  if (begin_ == end_) begin_ = end_ = 0;
  if (kBufferBytes - end_ < want) {  // move the unread bytes to the front
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  const size_t goal = end_ + want;
  asio::error_code ec;
  while (end_ < goal && !ec) {
    end_ += co_await socket.async_read_some(asio::buffer(buf_.get() + end_, kBufferBytes - end_),
                                            asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return ec;
}

asio::awaitable<Result<Frame>> FrameReader::Read(asio::ip::tcp::socket& socket) {
  if (end_ - begin_ < kFrameHeaderSize) {
    const bool started = end_ > begin_;
    asio::error_code ec = co_await Fill(socket, kFrameHeaderSize - (end_ - begin_));
    if (ec) {
      if (ec == asio::error::eof && !started && end_ == begin_) co_return Status::Unavailable("connection closed");
      co_return Status::Unavailable(ec == asio::error::eof ? "connection lost mid-frame" : ec.message());
    }
  }
  auto decoded = DecodeFrameHeader(buf_.get() + begin_, limits_);
  if (!decoded.ok()) co_return decoded.status();
  begin_ += kFrameHeaderSize;
  Frame frame;
  frame.header = *decoded;
  frame.meta.resize(frame.header.meta_len);
  frame.bulk.resize(frame.header.bulk_len);
  // What arrived with the header, then the rest: through the buffer when
  // small, straight into the frame when large.
  auto take = [&](std::string& out, size_t& have) {
    size_t n = std::min(out.size() - have, end_ - begin_);
    std::memcpy(out.data() + have, buf_.get() + begin_, n);
    begin_ += n;
    have += n;
  };
  size_t meta_have = 0, bulk_have = 0;
  take(frame.meta, meta_have);
  take(frame.bulk, bulk_have);
  const size_t rest = (frame.meta.size() - meta_have) + (frame.bulk.size() - bulk_have);
  if (rest > 0) {
    asio::error_code ec;
    if (rest <= kBufferBytes / 2) {
      ec = co_await Fill(socket, rest);
      if (!ec) {
        take(frame.meta, meta_have);
        take(frame.bulk, bulk_have);
      }
    } else {
      std::array<asio::mutable_buffer, 2> body{
          asio::buffer(frame.meta.data() + meta_have, frame.meta.size() - meta_have),
          asio::buffer(frame.bulk.data() + bulk_have, frame.bulk.size() - bulk_have)};
      co_await asio::async_read(socket, body, asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) co_return Status::Unavailable("connection lost mid-frame: " + ec.message());
  }
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

FrameSendQueue::Sent FrameSendQueue::Send(OutFrame frame) {
  std::lock_guard lock(mu_);
  if (closed_) return Sent::kClosed;
  if (fd_ >= 0 && !writing_ && queue_.empty()) {
    if (!SendFrameNow(fd_, frame)) return Sent::kFailed;
    if (frame.sent == frame.size()) return Sent::kDone;
  }
  queue_.push_back(std::move(frame));
  if (fd_ < 0 || writing_) return Sent::kQueued;
  writing_ = true;
  return Sent::kStartWriter;
}

bool FrameSendQueue::Open(int fd) {
  std::lock_guard lock(mu_);
  if (closed_) return false;
  fd_ = fd;
  if (writing_ || queue_.empty()) return false;
  writing_ = true;
  return true;
}

void FrameSendQueue::Close(const std::function<void()>& close) {
  std::lock_guard lock(mu_);
  closed_ = true;
  fd_ = -1;
  queue_.clear();
  close();
}

std::optional<OutFrame> FrameSendQueue::NextForWriter() {
  std::lock_guard lock(mu_);
  if (queue_.empty() || closed_) {
    writing_ = false;
    return std::nullopt;
  }
  OutFrame frame = std::move(queue_.front());
  queue_.pop_front();
  return frame;
}

void FrameSendQueue::WriterFailed() {
  std::lock_guard lock(mu_);
  writing_ = false;
}

asio::awaitable<Status> DrainSendQueue(asio::ip::tcp::socket& socket, FrameSendQueue& queue) {
  while (auto frame = queue.NextForWriter()) {
    Status st = co_await WriteFrame(socket, *frame);
    if (!st.ok()) {
      queue.WriterFailed();
      co_return st;
    }
  }
  co_return Status::Ok();
}

}  // namespace strata::rpc
