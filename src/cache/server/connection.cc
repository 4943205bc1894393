#include "cache/server/connection.h"

#include <cstring>

namespace strata::cache {

Connection::Connection(asio::ip::tcp::socket socket, CacheCore* core, std::unique_ptr<ProtocolHandler> handler,
                       uint64_t id, const std::string& protocol)
    : socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      core_(core),
      handler_(std::move(handler)),
      id_(id),
      max_input_(2 * core->options().max_value_bytes + (16u << 20)) {
  ClientInfo info;
  info.id = id;
  asio::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  info.addr = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
  info.protocol = protocol;
  info.connected_ms = static_cast<uint64_t>(core->NowMs());
  core_->clients()->Add(info);
  core_->metrics().connections->Add(1);
  core_->metrics().connections_total->Add();
}

Connection::~Connection() {
  if (block_token_) core_->blocking()->Remove(block_token_);
  core_->clients()->Remove(id_);
  core_->metrics().connections->Add(-1);
}

void Connection::Start() {
  asio::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  // Replies are written synchronously when the socket takes them (Flush).
  socket_.non_blocking(true, ec);
  DoRead();
}

void Connection::DoRead() {
  if (reading_ || closed_ || closing_ || out_.size() > kMaxPendingOutput) return;
  if (end_ - start_ > max_input_) {
    // One request larger than any legal one: refuse it rather than buffer on.
    out_.append("-ERR Protocol error: request too large\r\n");
    closing_ = true;
    Flush();
    return;
  }
  if (start_ > 0 && (start_ == end_ || in_.size() - end_ < kReadChunk)) {
    std::memmove(in_.data(), in_.data() + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
  }
  if (in_.size() - end_ < kReadChunk) in_.resize(end_ + kReadChunk);
  reading_ = true;
  auto self = shared_from_this();
  socket_.async_read_some(asio::buffer(in_.data() + end_, in_.size() - end_),
                          [self](const asio::error_code& ec, size_t n) { self->OnRead(ec, n); });
}

void Connection::OnRead(const asio::error_code& ec, size_t n) {
  reading_ = false;
  if (ec) return Close();
  end_ += n;
  core_->metrics().bytes_in->Add(n);
  ProcessInput();
  DoRead();
}

void Connection::ProcessInput() {
  if (blocked_ || closing_ || start_ == end_) return;
  uint64_t t0 = core_->clock()->NowMicros();
  ProcessOutcome o = handler_->Process(std::string_view(in_.data() + start_, end_ - start_), &out_);
  core_->metrics().command_latency->Observe(core_->clock()->NowMicros() - t0);
  start_ += o.consumed;
  if (o.close) closing_ = true;
  if (o.blocked) Block(o);
  Flush();
}

void Connection::Flush() {
  if (writing_ || closed_) return;
  if (out_.empty()) {
    if (closing_) Close();
    return;
  }
  // The common case: the socket buffer takes the whole batch, so one send
  // finishes it here, with no asio operation and no completion handler. Only
  // a short write waits for the socket to drain (async_write, EPOLLOUT).
  asio::error_code ec;
  size_t n = socket_.write_some(asio::buffer(out_), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    n = 0;
    ec.clear();
  }
  if (ec) return Close();
  core_->metrics().bytes_out->Add(out_.size());
  if (n == out_.size()) {
    out_.clear();
    if (out_.capacity() > kMaxIdleBuffer) std::string().swap(out_);
    if (closing_) Close();
    return;
  }
  writing_ = true;
  writing_buf_.swap(out_);
  out_.clear();
  auto self = shared_from_this();
  asio::async_write(socket_, asio::buffer(writing_buf_.data() + n, writing_buf_.size() - n),
                    [self](const asio::error_code& ec, size_t) { self->OnWrite(ec); });
}

void Connection::OnWrite(const asio::error_code& ec) {
  writing_ = false;
  writing_buf_.clear();
  if (writing_buf_.capacity() > kMaxIdleBuffer) std::string().swap(writing_buf_);
  if (ec) return Close();
  Flush();
  DoRead();
}

void Connection::Block(const ProcessOutcome& o) {
  blocked_ = true;
  std::weak_ptr<Connection> weak = shared_from_this();
  auto executor = socket_.get_executor();
  block_token_ = core_->blocking()->Add(o.block_keys, [weak, executor] {
    asio::post(executor, [weak] {
      if (auto self = weak.lock()) self->Unblock();
    });
  });
  if (o.block_deadline_ms > 0) {
    int64_t wait_ms = std::max<int64_t>(0, o.block_deadline_ms - core_->NowMs());
    timer_.expires_after(std::chrono::milliseconds(wait_ms));
    auto self = shared_from_this();
    timer_.async_wait([self](const asio::error_code& ec) {
      if (!ec) self->Unblock();
    });
  }
}

void Connection::Unblock() {
  if (!blocked_ || closed_) return;
  blocked_ = false;
  core_->blocking()->Remove(block_token_);
  block_token_ = 0;
  timer_.cancel();
  ProcessInput();  // re-runs the blocked command, then anything after it
  DoRead();
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  if (block_token_) {
    core_->blocking()->Remove(block_token_);
    block_token_ = 0;
  }
  timer_.cancel();
  asio::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

}  // namespace strata::cache
