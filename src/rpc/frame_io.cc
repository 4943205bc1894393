#include "rpc/frame_io.h"


#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

namespace strata::rpc {

namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Read buffers let go between frames are kept, a few per thread, for the
// next connection that wakes up on that thread: a busy server reuses them
// instead of allocating (and zeroing, and faulting in) 64 KiB per frame.
// Not counted as held by a connection (none holds them).
constexpr size_t kSpareBuffersPerThread = 8;

thread_local std::vector<std::unique_ptr<char[]>> spare_buffers;

}  // namespace

FrameMemory::FrameMemory(uint64_t limit_bytes, uint32_t wait_ms, MetricsRegistry* metrics)
    : limit_bytes_(limit_bytes),
      wait_ms_(wait_ms),
      reserved_gauge_(metrics->GetGauge("strata_rpc_frame_bytes_reserved",
                                        "Bytes of RPC frame bodies reserved against the server's budget")),
      allocated_gauge_(metrics->GetGauge("strata_rpc_frame_bytes_allocated",
                                         "Bytes of RPC read buffers and frame bodies held")),
      waits_(metrics->GetCounter("strata_rpc_frame_memory_waits_total",
                                 "RPC frames that waited for the server's frame memory")) {}

asio::awaitable<Status> FrameMemory::Reserve(uint64_t bytes, asio::any_io_executor executor) {
  if (bytes > limit_bytes_) {
    co_return Status::ResourceExhausted("frame of " + std::to_string(bytes) + " bytes exceeds the server's " +
                                        std::to_string(limit_bytes_) + "-byte frame memory");
  }
  std::shared_ptr<Waiter> waiter;
  {
    std::lock_guard lock(mu_);
    if (waiters_.empty() && reserved_ + bytes <= limit_bytes_) {
      reserved_ += bytes;
      reserved_gauge_->Add(static_cast<double>(bytes));
      co_return Status::Ok();
    }
    waiter = std::make_shared<Waiter>(bytes, executor);
    waiter->timer.expires_after(std::chrono::milliseconds(wait_ms_));
    waiters_.push_back(waiter);
  }
  waits_->Add();
  // A grant cancels the timer by a handler posted to this strand, which runs
  // only once this coroutine waits.
  asio::error_code ec;
  co_await waiter->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  std::lock_guard lock(mu_);
  if (waiter->granted) co_return Status::Ok();
  std::erase(waiters_, waiter);
  GrantWaitersLocked();  // the ones behind it may fit
  co_return Status::ResourceExhausted("no frame memory for " + std::to_string(bytes) + " bytes within " +
                                      std::to_string(wait_ms_) + " ms (server budget " +
                                      std::to_string(limit_bytes_) + " bytes)");
}

void FrameMemory::Unreserve(uint64_t bytes) {
  if (bytes == 0) return;
  std::lock_guard lock(mu_);
  reserved_ -= bytes;
  reserved_gauge_->Add(-static_cast<double>(bytes));
  GrantWaitersLocked();
}

void FrameMemory::GrantWaitersLocked() {
  while (!waiters_.empty() && reserved_ + waiters_.front()->bytes <= limit_bytes_) {
    std::shared_ptr<Waiter> w = std::move(waiters_.front());
    waiters_.pop_front();
    reserved_ += w->bytes;
    reserved_gauge_->Add(static_cast<double>(w->bytes));
    w->granted = true;
    asio::post(w->timer.get_executor(), [w] { w->timer.cancel(); });
  }
}

void FrameMemory::Allocated(int64_t delta) { allocated_gauge_->Add(static_cast<double>(delta)); }

FrameMemory::Hold& FrameMemory::Hold::operator=(Hold&& other) noexcept {
  if (this != &other) {
    Release();
    memory_ = std::exchange(other.memory_, nullptr);
    reserved_ = std::exchange(other.reserved_, 0);
    allocated_ = std::exchange(other.allocated_, 0);
  }
  return *this;
}

void FrameMemory::Hold::Release() {
  if (!memory_) return;
  memory_->Allocated(-static_cast<int64_t>(allocated_));
  memory_->Unreserve(reserved_);
  memory_ = nullptr;
}

void FrameReader::AllocateBuffer() {
  if (buf_) return;
  if (!spare_buffers.empty()) {
    buf_ = std::move(spare_buffers.back());
    spare_buffers.pop_back();
  } else {
    buf_ = std::make_unique_for_overwrite<char[]>(kBufferBytes);
  }
  if (memory_) memory_->Allocated(static_cast<int64_t>(kBufferBytes));
}

void FrameReader::FreeBuffer() {
  if (!buf_) return;
  if (spare_buffers.size() < kSpareBuffersPerThread) {
    spare_buffers.push_back(std::move(buf_));
  } else {
    buf_.reset();
  }
  begin_ = end_ = 0;
  if (memory_) memory_->Allocated(-static_cast<int64_t>(kBufferBytes));
}

asio::awaitable<Status> FrameReader::WaitForBytes(asio::ip::tcp::socket& socket) {
  asio::error_code ec;
  if (keep_buffer_) {  // a few busy connections: several frames may come with one recv
    AllocateBuffer();
    begin_ = end_ = 0;
    size_t n = co_await socket.async_read_some(asio::buffer(buf_.get(), kBufferBytes),
                                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::eof) co_return Status::Unavailable("connection closed");
    if (ec) co_return Status::Unavailable(ec.message());
    end_ = n;
    co_return Status::Ok();
  }
  FreeBuffer();  // drained: an idle connection holds none
  // A read into the connection's few bytes of its own, not a wait for
  // readiness (asio re-arms the descriptor with epoll_ctl for every wait)
  // nor a read of our own first (asio knows whether the socket may have
  // bytes: it tries at once only then, and otherwise waits for the edge
  // it registered once).
  size_t n = co_await socket.async_read_some(asio::buffer(first_bytes_), asio::redirect_error(asio::use_awaitable, ec));
  if (ec == asio::error::eof) co_return Status::Unavailable("connection closed");
  if (ec) co_return Status::Unavailable(ec.message());
  AllocateBuffer();
  std::memcpy(buf_.get(), first_bytes_.data(), n);
  begin_ = 0;
  end_ = n;
  co_return Status::Ok();
}

asio::awaitable<asio::error_code> FrameReader::Fill(asio::ip::tcp::socket& socket, size_t want) {
  AllocateBuffer();
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

void FrameReader::Grow(std::string& out, size_t size) {
  const size_t before = out.capacity();
  if (size > before) out.reserve(size);  // exactly: what is accounted is what is held
  out.resize(size);
  const size_t after = out.capacity();
  if (after != before) {
    body_allocated_ += after - before;
    if (memory_) memory_->Allocated(static_cast<int64_t>(after - before));
  }
}

void FrameReader::Take(std::string& out, size_t total) {
  const size_t have = out.size();
  const size_t n = std::min(total - have, end_ - begin_);
  if (n == 0) return;
  Grow(out, have + n);
  std::memcpy(out.data() + have, buf_.get() + begin_, n);
  begin_ += n;
}

asio::awaitable<asio::error_code> FrameReader::ReadPart(asio::ip::tcp::socket& socket, std::string& out,
                                                         size_t total) {
  Take(out, total);
  asio::error_code ec;
  while (out.size() < total && !ec) {
    const size_t have = out.size();
    const size_t rest = total - have;
    if (rest <= kBufferBytes / 2) {  // small: through the buffer, which may bring the next frame too
      ec = co_await Fill(socket, rest);
      if (!ec) Take(out, total);
      continue;
    }
    // Large: straight into the body, in steps that at most double it, so
    // that memory follows the bytes that arrived.
    const size_t step = std::min(rest, std::max(have, kBufferBytes));
    Grow(out, have + step);
    co_await asio::async_read(socket, asio::buffer(out.data() + have, step),
                              asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return ec;
}

asio::awaitable<Result<Frame>> FrameReader::Read(asio::ip::tcp::socket& socket) {
  if (begin_ == end_) {
    Status st = co_await WaitForBytes(socket);
    if (!st.ok()) co_return st;
  }
  frame_started_ns_.store(NowNs(), std::memory_order_relaxed);
  // Between frames whatever way this returns.
  struct Finished {
    std::atomic<int64_t>& started;
    ~Finished() { started.store(0, std::memory_order_relaxed); }
  } finished{frame_started_ns_};
  const size_t head_size = kFrameHeaderSize + (mac_ ? kFrameTagBytes : 0);
  if (end_ - begin_ < head_size) {
    asio::error_code ec = co_await Fill(socket, head_size - (end_ - begin_));
    if (ec) {
      if (ec == asio::error::eof && end_ == begin_) co_return Status::Unavailable("connection closed");
      co_return Status::Unavailable(ec == asio::error::eof ? "connection lost mid-frame" : ec.message());
    }
  }
  auto decoded = DecodeFrameHeader(buf_.get() + begin_, limits_);
  if (!decoded.ok()) co_return decoded.status();
  char head[kFrameHeaderSize + kFrameTagBytes];  // kept for the tag check: the buffer may move
  if (mac_) std::memcpy(head, buf_.get() + begin_, head_size);
  begin_ += head_size;
  Frame frame;
  frame.header = *decoded;
  const uint64_t declared = uint64_t{frame.header.meta_len} + frame.header.bulk_len;
  if (memory_ && declared > 0) {
    Status st = co_await memory_->Reserve(declared, socket.get_executor());
    if (!st.ok()) co_return st;
  }
  body_allocated_ = 0;
  // From here the frame's memory goes back with `frame.hold`, whatever happens.
  frame.hold = FrameMemory::Hold(memory_, memory_ ? declared : 0, 0);
  asio::error_code ec = co_await ReadPart(socket, frame.meta, frame.header.meta_len);
  if (!ec && mac_ && !mac_->Verify(head, frame.meta, head + kFrameHeaderSize)) {
    co_return Status::ProtocolError("frame tag mismatch: forged, altered, replayed or out of order");
  }
  if (!ec) ec = co_await ReadPart(socket, frame.bulk, frame.header.bulk_len);
  frame.hold.AddAllocated(body_allocated_);
  if (ec) co_return Status::Unavailable("connection lost mid-frame: " + ec.message());
  if (BodyCrc(frame.meta, frame.bulk) != frame.header.body_crc) {
    co_return Status::ProtocolError("frame body checksum mismatch");
  }
  co_return frame;
}

asio::awaitable<Status> WriteFrame(asio::ip::tcp::socket& socket, const OutFrame& frame) {
  std::array<asio::const_buffer, 4> bufs{asio::buffer(frame.header, kFrameHeaderSize),
                                         asio::buffer(frame.tag, frame.tag_len), asio::buffer(frame.body->meta),
                                         asio::buffer(frame.body->bulk)};
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

void FrameSendQueue::SetMac(std::unique_ptr<FrameMac> mac) {
  std::lock_guard lock(mu_);
  mac_ = std::move(mac);
}

void FrameSendQueue::SealLocked(OutFrame& frame) {
  if (mac_ && frame.tag_len == 0) mac_->Seal(frame);
}

FrameSendQueue::Sent FrameSendQueue::Send(OutFrame frame) {
  std::lock_guard lock(mu_);
  if (closed_) return Sent::kClosed;
  if (fd_ >= 0 && !writing_ && queue_.empty()) {
    SealLocked(frame);
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
  SealLocked(frame);
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
