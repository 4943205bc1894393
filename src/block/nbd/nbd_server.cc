#include "block/nbd/nbd_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "block/nbd/nbd_errors.h"
#include "block/nbd/nbd_protocol.h"
#include "common/logging.h"

namespace strata::block::nbd {
namespace {

using Socket = asio::generic::stream_protocol::socket;

constexpr uint16_t kHandshakeFlags = kFlagFixedNewstyle | kFlagNoZeroes;
constexpr size_t kReadBufferBytes = 64 * 1024;
constexpr size_t kWriteBatchMax = 64;        // replies gathered into one write
constexpr size_t kListExportsMax = 4096;     // NBD_REP_SERVER replies to one NBD_OPT_LIST
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);
constexpr auto kStopLogInterval = std::chrono::seconds(5);

// One reply queued for the client: its header and, for a read, the data
// (kept apart so that the data is never copied).
struct OutMessage {
  std::string head;
  std::string data;
  uint64_t bytes = 0;  // in-flight bytes of its request, released when written
};

// Reads a connection's stream through a 64 KiB buffer, so that a request
// header (and often the next ones) arrives with one recv; long payloads are
// read straight into their destination. Used by one coroutine.
class InputBuffer {
 public:
  // Reads exactly `n` bytes into `out`.
  asio::awaitable<asio::error_code> Read(Socket& socket, char* out, size_t n) {
    size_t got = Take(out, n);
    asio::error_code ec;
    if (got == n) co_return ec;
    size_t rest = n - got;
    if (rest >= kReadBufferBytes / 2) {
      co_await asio::async_read(socket, asio::buffer(out + got, rest), asio::redirect_error(asio::use_awaitable, ec));
      co_return ec;
    }
    while (end_ - begin_ < rest) {
      ec = co_await Fill(socket);
      if (ec) co_return ec;
    }
    Take(out + got, rest);
    co_return ec;
  }

  // Reads and drops `n` bytes.
  asio::awaitable<asio::error_code> Skip(Socket& socket, uint64_t n) {
    asio::error_code ec;
    while (n > 0) {
      if (begin_ == end_) {
        ec = co_await Fill(socket);
        if (ec) co_return ec;
      }
      size_t k = static_cast<size_t>(std::min<uint64_t>(n, end_ - begin_));
      begin_ += k;
      n -= k;
    }
    co_return ec;
  }

 private:
  size_t Take(char* out, size_t n) {
    size_t k = std::min(n, end_ - begin_);
    std::memcpy(out, buf_.get() + begin_, k);
    begin_ += k;
    if (begin_ == end_) begin_ = end_ = 0;
    return k;
  }

  // One recv into the free end of the buffer (moving what is unread to the
  // front when the end is short of room).
  asio::awaitable<asio::error_code> Fill(Socket& socket) {
    if (kReadBufferBytes - end_ < kReadBufferBytes / 2 && begin_ > 0) {
      std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    asio::error_code ec;
    size_t n = co_await socket.async_read_some(asio::buffer(buf_.get() + end_, kReadBufferBytes - end_),
                                               asio::redirect_error(asio::use_awaitable, ec));
    end_ += n;
    co_return ec;
  }

  std::unique_ptr<char[]> buf_ = std::make_unique<char[]>(kReadBufferBytes);
  size_t begin_ = 0;  // unread bytes are [begin_, end_)
  size_t end_ = 0;
};

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace

class NbdServer::Impl {
 public:
  class Connection;

  Impl(Backend* backend, NbdServerOptions options)
      : backend_(backend),
        options_(std::move(options)),
        io_(options_.io_context ? *options_.io_context : own_io_),
        pool_(static_cast<size_t>(std::max(1, options_.backend_threads))),
        tcp_acceptor_(io_),
        unix_acceptor_(io_) {}

  Result<int> Start();
  void Stop();
  Status Adopt(int fd);
  int port() const { return port_; }
  size_t connection_count() const {
    std::lock_guard lock(mu_);
    return conns_.size();
  }

  // Counts an operation that will complete on another thread (a Volume
  // call, a Backend call on the pool), so that Stop can wait for it. False
  // once Stop has begun: the caller answers ESHUTDOWN instead.
  bool OpStart() {
    std::lock_guard lock(ops_mu_);
    if (stopping_) return false;
    ++ops_in_flight_;
    return true;
  }
  // The last thing a completion does with the server.
  void OpFinished() {
    std::lock_guard lock(ops_mu_);
    if (--ops_in_flight_ == 0) ops_cv_.notify_all();
  }

  void Forget(Connection* c) {
    std::lock_guard lock(mu_);
    conns_.erase(c);
  }

  Backend* backend() { return backend_; }
  const NbdServerOptions& options() const { return options_; }
  asio::thread_pool& pool() { return pool_; }

 private:
  template <typename Acceptor>
  asio::awaitable<void> AcceptLoop(Acceptor& acceptor, const char* kind);
  // Registers and starts a connection; false (socket closed) when full.
  bool Admit(Socket socket, std::string peer);
  Status ListenUnix();

  Backend* const backend_;
  const NbdServerOptions options_;
  asio::io_context own_io_;  // unused with options_.io_context
  asio::io_context& io_;
  // Keeps io_.run() going while no socket has work (no listener, say: only
  // Adopt), from Start to Stop.
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  asio::thread_pool pool_;  // Backend::Open and List
  asio::ip::tcp::acceptor tcp_acceptor_;
  asio::local::stream_protocol::acceptor unix_acceptor_;
  std::vector<std::thread> io_threads_;
  int port_ = 0;
  bool started_ = false;                // Start succeeded
  std::atomic<bool> stopped_{false};

  mutable std::mutex mu_;
  std::map<Connection*, std::shared_ptr<Connection>> conns_;  // GUARDED_BY(mu_)

  std::mutex ops_mu_;
  std::condition_variable ops_cv_;
  uint64_t ops_in_flight_ = 0;  // GUARDED_BY(ops_mu_)
  bool stopping_ = false;       // GUARDED_BY(ops_mu_)
};

// One client connection: the handshake, then the transmission phase. Every
// member is used on the connection's strand only, except server_ and
// executor_ (immutable).
class NbdServer::Impl::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Impl* server, Socket socket, std::string peer)
      : server_(server),
        options_(server->options()),
        socket_(std::move(socket)),
        executor_(socket_.get_executor()),
        handshake_timer_(executor_),
        wake_(executor_),
        peer_(std::move(peer)) {}

  // Any thread: the connection starts on its strand.
  void Start() {
    asio::post(executor_, [self = shared_from_this()] {
      if (self->closed_) return;
      self->handshake_timer_.expires_after(std::chrono::milliseconds(self->options_.handshake_timeout_ms));
      self->handshake_timer_.async_wait([self](asio::error_code ec) {
        if (ec || self->in_transmission_ || self->closed_) return;
        spdlog::warn("nbd: closing connection from {}: no export chosen within {} ms", self->peer_,
                     self->options_.handshake_timeout_ms);
        self->CloseOnStrand();
      });
      asio::co_spawn(self->executor_, Run(self), asio::detached);
    });
  }

  // Any thread.
  void Close() {
    asio::post(executor_, [self = shared_from_this()] { self->CloseOnStrand(); });
  }
  // REQUIRES: no thread runs the io_context (Stop).
  void CloseNow() { CloseOnStrand(); }

 private:
  enum class Next { kMore, kTransmission, kClose };

  static asio::awaitable<void> Run(std::shared_ptr<Connection> self) {
    try {
      if (co_await self->Handshake()) co_await self->Transmission();
    } catch (const std::exception& e) {
      spdlog::error("nbd: closing connection from {}: {}", self->peer_, e.what());
    }
    self->CloseOnStrand();
  }

  // ---- Handshake.

  // True when the transmission phase was entered.
  asio::awaitable<bool> Handshake() {
    if (!co_await Send(EncodeGreeting(kHandshakeFlags))) co_return false;
    char flags_bytes[kClientFlagsBytes];
    if (!co_await ReadOrLog(flags_bytes, sizeof flags_bytes, "client flags")) co_return false;
    auto flags = ParseClientFlags({flags_bytes, sizeof flags_bytes}, kHandshakeFlags);
    if (!flags.ok()) co_return Fail(flags.status().message());
    no_zeroes_ = *flags & kClientFlagNoZeroes;
    for (uint32_t n = 0;; ++n) {
      if (n == options_.max_options_per_handshake) {
        co_return Fail("more than " + std::to_string(n) + " options in the handshake");
      }
      char header_bytes[kOptionHeaderBytes];
      if (!co_await ReadOrLog(header_bytes, sizeof header_bytes, "an option header")) co_return false;
      auto header = ParseOptionHeader({header_bytes, sizeof header_bytes});
      if (!header.ok()) co_return Fail(header.status().message());
      std::string data(header->length, '\0');
      if (!co_await ReadOrLog(data.data(), data.size(), "option data")) co_return false;
      Next next = co_await HandleOption(header->option, data);
      if (next == Next::kTransmission) co_return true;
      if (next == Next::kClose) co_return false;
    }
  }

  asio::awaitable<Next> HandleOption(uint32_t option, const std::string& data) {
    switch (option) {
      case kOptExportName:
        co_return co_await ExportName(data);
      case kOptAbort:
        // proto.md: ACK, then the client drops the connection.
        co_await Send(EncodeOptionReply(option, kRepAck));
        co_return Next::kClose;
      case kOptList:
        co_return co_await List(data);
      case kOptInfo:
      case kOptGo:
        co_return co_await InfoOrGo(option, data);
      case kOptStructuredReply:
        if (!data.empty()) co_return co_await Reply(option, kRepErrInvalid, "NBD_OPT_STRUCTURED_REPLY takes no data");
        structured_ = true;
        co_return co_await Reply(option, kRepAck);
      case kOptListMetaContext:
      case kOptSetMetaContext:
        co_return co_await MetaContext(option, data);
      default:
        co_return co_await Reply(option, kRepErrUnsup, OptionName(option) + " is not supported");
    }
  }

  // NBD_OPT_EXPORT_NAME: cannot report an error, so an unknown export
  // closes the connection (proto.md).
  asio::awaitable<Next> ExportName(const std::string& name) {
    if (Status st = CheckNbdString(name); !st.ok()) {
      co_return FailNext("NBD_OPT_EXPORT_NAME: export name: " + st.message());
    }
    auto volume = co_await Open(name);
    if (!volume.ok()) co_return FailNext("NBD_OPT_EXPORT_NAME: " + volume.status().message());
    auto sizes = NegotiateBlockSizes((*volume)->info(), options_.max_payload_bytes);
    if (!sizes.ok()) co_return FailNext("export " + Quote(name) + ": " + sizes.status().message());
    EnterTransmission(std::move(*volume), *sizes, name);
    if (!co_await Send(EncodeExportNameReply(context_.size_bytes, context_.flags, no_zeroes_))) {
      co_return Next::kClose;
    }
    co_return Next::kTransmission;
  }

  asio::awaitable<Next> List(const std::string& data) {
    if (!data.empty()) co_return co_await Reply(kOptList, kRepErrInvalid, "NBD_OPT_LIST takes no data");
    auto list = [backend = server_->backend()] { return backend->List(); };
    std::optional<Result<std::vector<ExportInfo>>> exports = co_await OnPool(list);
    if (!exports) co_return co_await Reply(kOptList, kRepErrShutdown, "the server is shutting down");
    if (!exports->ok()) {
      co_return co_await Reply(kOptList, kRepErrUnknown, "cannot list the exports: " + exports->status().message());
    }
    std::string out;
    size_t listed = 0;
    for (const ExportInfo& e : **exports) {
      if (listed == kListExportsMax) {
        spdlog::warn("nbd: NBD_OPT_LIST from {}: listing only the first {} exports", peer_, kListExportsMax);
        break;
      }
      if (!CheckNbdString(e.name).ok()) continue;
      std::string_view description = e.description;
      if (!CheckNbdString(description).ok()) description = {};
      out += EncodeOptionReply(kOptList, kRepServer, EncodeRepServerData(e.name, description));
      ++listed;
    }
    out += EncodeOptionReply(kOptList, kRepAck);
    co_return co_await SendNext(std::move(out));
  }

  // NBD_OPT_INFO and NBD_OPT_GO: the same replies; GO then enters the
  // transmission phase.
  asio::awaitable<Next> InfoOrGo(uint32_t option, const std::string& data) {
    auto request = ParseInfoRequest(data);
    if (!request.ok()) co_return co_await Reply(option, kRepErrInvalid, request.status().message());
    const std::string name(request->name);
    auto volume = co_await Open(name);
    if (!volume.ok()) {
      uint32_t type = kRepErrUnknown;
      if (volume.status().code() == StatusCode::kPermissionDenied) type = kRepErrPolicy;
      if (server_stopping_) type = kRepErrShutdown;
      co_return co_await Reply(option, type, volume.status().message());
    }
    const ExportInfo& info = (*volume)->info();
    auto sizes = NegotiateBlockSizes(info, options_.max_payload_bytes);
    if (!sizes.ok()) co_return co_await Reply(option, kRepErrUnknown, "export " + Quote(name) + ": " + sizes.status().message());
    auto asked = [&](uint16_t type) {
      return std::find(request->requests.begin(), request->requests.end(), type) != request->requests.end();
    };
    std::string out = EncodeOptionReply(option, kRepInfo, EncodeInfoExportData(info.size_bytes, TransmissionFlags(info, structured_)));
    if (asked(kInfoName) && CheckNbdString(info.name).ok()) {
      out += EncodeOptionReply(option, kRepInfo, EncodeInfoNameData(info.name));
    }
    if (asked(kInfoDescription) && !info.description.empty() && CheckNbdString(info.description).ok()) {
      out += EncodeOptionReply(option, kRepInfo, EncodeInfoDescriptionData(info.description));
    }
    // Always sent: the constraints are not proto.md's defaults (minimum 1).
    out += EncodeOptionReply(option, kRepInfo, EncodeInfoBlockSizeData(sizes->min, sizes->preferred, sizes->max));
    out += EncodeOptionReply(option, kRepAck);
    if (option == kOptGo) EnterTransmission(std::move(*volume), *sizes, name);
    if (!co_await Send(std::move(out))) co_return Next::kClose;
    co_return option == kOptGo ? Next::kTransmission : Next::kMore;
  }

  asio::awaitable<Next> MetaContext(uint32_t option, const std::string& data) {
    const bool listing = option == kOptListMetaContext;
    // proto.md: SET replaces the selection, even when it fails.
    if (!listing) meta_selected_ = false;
    if (!structured_) co_return co_await Reply(option, kRepErrInvalid, "structured replies were not negotiated");
    auto request = ParseMetaContextRequest(data);
    if (!request.ok()) co_return co_await Reply(option, kRepErrInvalid, request.status().message());
    // No query: LIST lists everything, SET selects nothing.
    bool selected = listing && request->queries.empty();
    for (std::string_view query : request->queries) {
      auto match = QuerySelectsBaseAllocation(query, listing);
      if (!match.ok()) co_return co_await Reply(option, kRepErrInvalid, match.status().message());
      selected = selected || *match;
    }
    std::string out;
    if (selected) {
      // LIST: proto.md reserves the id (zero); SET: the id BLOCK_STATUS uses.
      uint32_t id = listing ? 0 : kBaseAllocationContextId;
      out += EncodeOptionReply(option, kRepMetaContext, EncodeMetaContextData(id, kBaseAllocation));
      if (!listing) {
        meta_selected_ = true;
        meta_export_ = std::string(request->export_name);
      }
    }
    out += EncodeOptionReply(option, kRepAck);
    co_return co_await SendNext(std::move(out));
  }

  asio::awaitable<Result<std::unique_ptr<Volume>>> Open(const std::string& requested) {
    std::string name = requested.empty() ? options_.default_export : requested;
    if (name.empty()) co_return Status::NotFound("there is no default export: name one");
    auto open = [backend = server_->backend(), &name] { return backend->Open(name); };
    std::optional<Result<std::unique_ptr<Volume>>> volume = co_await OnPool(open);
    if (!volume) {
      server_stopping_ = true;
      co_return Status::Unavailable("the server is shutting down");
    }
    if (!volume->ok()) {
      if (volume->status().code() == StatusCode::kNotFound) co_return Status::NotFound("unknown export " + Quote(name));
      co_return volume->status().WithContext("export " + Quote(name));
    }
    co_return std::move(**volume);
  }

  // Runs `fn` (a Backend call, which may block) on the backend threads;
  // nullopt when the server is stopping. `fn` is taken by reference: GCC 12
  // destroys a closure passed by value to a coroutine twice.
  template <typename Fn>
  asio::awaitable<std::optional<std::invoke_result_t<Fn&>>> OnPool(Fn& fn) {
    std::optional<std::invoke_result_t<Fn&>> out;
    if (!server_->OpStart()) co_return out;
    Impl* server = server_;
    co_await asio::co_spawn(
        server_->pool(),
        [&out, &fn, server]() -> asio::awaitable<void> {
          try {
            out.emplace(fn());
          } catch (const std::exception& e) {
            out.emplace(Status::Internal(std::string("the backend threw: ") + e.what()));
          }
          server->OpFinished();
          co_return;
        },
        asio::use_awaitable);
    co_return out;
  }

  void EnterTransmission(std::unique_ptr<Volume> volume, BlockSizes sizes, const std::string& requested_name) {
    volume_ = std::move(volume);
    const ExportInfo& info = volume_->info();
    context_.size_bytes = info.size_bytes;
    context_.flags = TransmissionFlags(info, structured_);
    context_.block_sizes = sizes;
    context_.structured_replies = structured_;
    context_.base_allocation = meta_selected_ && meta_export_ == requested_name;
    in_transmission_ = true;
    handshake_timer_.cancel();
    spdlog::debug("nbd: {} serves export '{}' ({} bytes, flags {:#x}, {} replies)", peer_, info.name,
                  info.size_bytes, context_.flags, structured_ ? "structured" : "simple");
  }

  asio::awaitable<Next> Reply(uint32_t option, uint32_t type, std::string_view message = {}) {
    if (message.size() > kStringBytesMax) message = message.substr(0, kStringBytesMax);
    co_return co_await SendNext(EncodeOptionReply(option, type, message));
  }

  asio::awaitable<Next> SendNext(std::string bytes) {
    co_return (co_await Send(std::move(bytes))) ? Next::kMore : Next::kClose;
  }

  // Handshake writes: one at a time, straight from the handshake coroutine.
  asio::awaitable<bool> Send(std::string bytes) {
    asio::error_code ec;
    co_await asio::async_write(socket_, asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
    if (ec && !closed_) spdlog::info("nbd: connection from {}: write failed: {}", peer_, ec.message());
    co_return !ec;
  }

  // Reads `n` bytes of the handshake; logs why when the stream ends.
  asio::awaitable<bool> ReadOrLog(char* out, size_t n, const char* what) {
    asio::error_code ec = co_await in_.Read(socket_, out, n);
    if (ec && !closed_) {
      spdlog::warn("nbd: closing connection from {}: handshake cut short reading {}: {}", peer_, what,
                   ec == asio::error::eof ? "end of stream" : ec.message());
    }
    co_return !ec;
  }

  bool Fail(const std::string& why) {
    spdlog::warn("nbd: closing connection from {}: {}", peer_, why);
    return false;
  }
  Next FailNext(const std::string& why) {
    Fail(why);
    return Next::kClose;
  }

  // ---- Transmission.

  asio::awaitable<void> Transmission() {
    for (;;) {
      while (!closed_ && (in_flight_ >= options_.max_requests_in_flight ||
                          bytes_in_flight_ >= options_.max_bytes_in_flight)) {
        co_await Sleep();
      }
      if (closed_) co_return;
      char header_bytes[kRequestBytes];
      asio::error_code ec = co_await in_.Read(socket_, header_bytes, sizeof header_bytes);
      if (ec) co_return co_await EndOfStream(ec);
      auto request = ParseRequest({header_bytes, sizeof header_bytes});
      if (!request.ok()) {
        Fail(request.status().message());
        co_return;
      }
      const Request& r = *request;
      if (r.type == kCmdDisc) {
        co_await Drain();
        co_return;
      }
      RequestVerdict verdict = CheckRequest(r, context_);
      std::string payload;
      if (r.type == kCmdWrite) {
        if (r.length > options_.max_payload_bytes) {
          Fail("NBD_CMD_WRITE of " + std::to_string(r.length) + " bytes, over the limit of " +
               std::to_string(options_.max_payload_bytes));
          co_return;
        }
        if (verdict.error) {
          ec = co_await in_.Skip(socket_, r.length);
        } else {
          payload.resize(r.length);
          ec = co_await in_.Read(socket_, payload.data(), payload.size());
        }
        if (ec) co_return co_await EndOfStream(ec);
      }
      ++in_flight_;
      if (verdict.error) {
        spdlog::debug("nbd: {} {} offset {} length {}: {} ({})", peer_, CommandName(r.type), r.offset, r.length,
                      NbdErrorName(verdict.error), verdict.reason);
        Enqueue(ErrorReply(r, verdict.error, verdict.reason), 0);
      } else {
        Dispatch(r, std::move(payload));
      }
    }
  }

  // The client's end of the stream (or a failed read): the replies of what
  // was read still go out if the client reads them.
  asio::awaitable<void> EndOfStream(asio::error_code ec) {
    if (ec == asio::error::eof) {
      co_await Drain();
    } else if (!closed_) {
      spdlog::info("nbd: connection from {} failed: {}", peer_, ec.message());
    }
  }

  // Waits until every request read has had its reply written.
  asio::awaitable<void> Drain() {
    while (!closed_ && in_flight_ > 0) co_await Sleep();
  }

  // Parks the reader until Wake() (a reply written, the connection closed).
  asio::awaitable<void> Sleep() {
    wake_.expires_at(asio::steady_timer::time_point::max());
    asio::error_code ec;
    co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  void Wake() { wake_.cancel(); }

  void Dispatch(const Request& r, std::string payload) {
    const bool zero_length = r.length == 0 && r.type != kCmdFlush;
    if (zero_length) return Enqueue(OkReply(r), 0);  // nothing to do; proto.md: do not disconnect
    if (!server_->OpStart()) return Enqueue(ErrorReply(r, kNbdEshutdown, "the server is shutting down"), 0);
    const uint64_t bytes = (r.type == kCmdRead || r.type == kCmdWrite) ? r.length : 0;
    bytes_in_flight_ += bytes;
    switch (r.type) {
      case kCmdRead:
        volume_->Read(r.offset, r.length, [self = shared_from_this(), r](Status st, std::string data) mutable {
          Impl* server = self->server_;
          auto ex = self->executor_;
          asio::post(ex, [self = std::move(self), r, st = std::move(st), data = std::move(data)]() mutable {
            self->ReadDone(r, std::move(st), std::move(data));
          });
          server->OpFinished();
        });
        break;
      case kCmdWrite:
        volume_->Write(r.offset, std::move(payload), r.flags & kCmdFlagFua, Completion(r));
        break;
      case kCmdFlush:
        volume_->Flush(Completion(r));
        break;
      case kCmdTrim:
        volume_->Trim(r.offset, r.length, Completion(r));
        break;
      case kCmdWriteZeroes:
        volume_->WriteZeroes(r.offset, r.length, !(r.flags & kCmdFlagNoHole), r.flags & kCmdFlagFastZero,
                             Completion(r));
        break;
      case kCmdBlockStatus:
        volume_->BlockStatus(r.offset, r.length,
                             [self = shared_from_this(), r](Status st, std::vector<Extent> extents) mutable {
                               Impl* server = self->server_;
                               auto ex = self->executor_;
                               asio::post(ex, [self = std::move(self), r, st = std::move(st),
                                               extents = std::move(extents)]() mutable {
                                 self->BlockStatusDone(r, std::move(st), extents);
                               });
                               server->OpFinished();
                             });
        break;
      default:  // CheckRequest let no other command through
        server_->OpFinished();
        Enqueue(ErrorReply(r, kNbdEinval, "unknown command"), bytes);
        break;
    }
  }

  // The done of a Volume operation without data: back to the strand. The
  // posted handler takes the connection reference over, so the done holds
  // none when the Volume's thread returns from it.
  Volume::Done Completion(const Request& r) {
    return [self = shared_from_this(), r](Status st) mutable {
      Impl* server = self->server_;
      auto ex = self->executor_;
      asio::post(ex, [self = std::move(self), r, st = std::move(st)]() mutable { self->Done(r, std::move(st)); });
      server->OpFinished();
    };
  }

  void Done(const Request& r, Status st) {
    const uint64_t bytes = r.type == kCmdWrite ? r.length : 0;
    if (closed_) return Release(bytes);
    // TRIM and WRITE_ZEROES have no FUA of their own in the Volume: a FLUSH
    // after them makes them durable before the reply.
    if (st.ok() && (r.flags & kCmdFlagFua) && (r.type == kCmdTrim || r.type == kCmdWriteZeroes)) {
      if (!server_->OpStart()) return Enqueue(ErrorReply(r, kNbdEshutdown, "the server is shutting down"), bytes);
      Request flushed = r;
      flushed.flags = static_cast<uint16_t>(flushed.flags & ~kCmdFlagFua);
      volume_->Flush(Completion(flushed));
      return;
    }
    Enqueue(st.ok() ? OkReply(r) : VolumeErrorReply(r, st), bytes);
  }

  void ReadDone(const Request& r, Status st, std::string data) {
    if (closed_) return Release(r.length);
    if (st.ok() && data.size() != r.length) {
      st = Status::Internal("the volume returned " + std::to_string(data.size()) + " bytes for a read of " +
                            std::to_string(r.length));
    }
    if (!st.ok()) return Enqueue(VolumeErrorReply(r, st), r.length);
    OutMessage m;
    m.head = context_.structured_replies ? EncodeOffsetDataHeader(kReplyFlagDone, r.handle, r.offset, r.length)
                                         : EncodeSimpleReply(r.handle, 0);
    m.data = std::move(data);
    m.bytes = r.length;
    Push(std::move(m));
  }

  void BlockStatusDone(const Request& r, Status st, const std::vector<Extent>& extents) {
    if (closed_) return Release(0);
    if (!st.ok()) return Enqueue(VolumeErrorReply(r, st), 0);
    auto descriptors = NormalizeExtents(extents, r.length, context_.block_sizes.min, r.flags & kCmdFlagReqOne);
    Enqueue(EncodeBlockStatusChunk(r.handle, kBaseAllocationContextId, descriptors), 0);
  }

  std::string OkReply(const Request& r) const {
    return context_.structured_replies ? EncodeNoneChunk(r.handle) : EncodeSimpleReply(r.handle, 0);
  }
  std::string ErrorReply(const Request& r, uint32_t error, std::string_view message) const {
    return context_.structured_replies ? EncodeErrorChunk(r.handle, error, message)
                                       : EncodeSimpleReply(r.handle, error);
  }
  std::string VolumeErrorReply(const Request& r, const Status& st) const {
    uint32_t error = NbdErrorFromStatus(st, r.type);
    if (error == kNbdEio) {
      spdlog::warn("nbd: {} on export '{}' at offset {} length {} failed: {}", CommandName(r.type),
                   volume_->info().name, r.offset, r.length, st.ToString());
    }
    return ErrorReply(r, error, st.message());
  }

  // ---- The write side: replies queue here, one write loop sends them.

  void Enqueue(std::string head, uint64_t bytes) {
    OutMessage m;
    m.head = std::move(head);
    m.bytes = bytes;
    Push(std::move(m));
  }

  void Push(OutMessage m) {
    if (closed_) return Release(m.bytes);
    out_.push_back(std::move(m));
    if (!writing_) {
      writing_ = true;
      asio::co_spawn(executor_, WriteLoop(shared_from_this()), asio::detached);
    }
  }

  // A request's reply was written (or dropped): it no longer counts.
  void Release(uint64_t bytes) {
    --in_flight_;
    bytes_in_flight_ -= bytes;
    Wake();
  }

  static asio::awaitable<void> WriteLoop(std::shared_ptr<Connection> self) {
    std::vector<OutMessage> batch;
    std::vector<asio::const_buffer> buffers;
    batch.reserve(kWriteBatchMax);
    while (!self->closed_ && !self->out_.empty()) {
      batch.clear();
      while (!self->out_.empty() && batch.size() < kWriteBatchMax) {
        batch.push_back(std::move(self->out_.front()));
        self->out_.pop_front();
      }
      buffers.clear();
      for (const OutMessage& m : batch) {
        buffers.push_back(asio::buffer(m.head));
        if (!m.data.empty()) buffers.push_back(asio::buffer(m.data));
      }
      asio::error_code ec;
      co_await asio::async_write(self->socket_, buffers, asio::redirect_error(asio::use_awaitable, ec));
      for (const OutMessage& m : batch) self->Release(m.bytes);
      if (ec) {
        if (!self->closed_) spdlog::info("nbd: connection from {}: write failed: {}", self->peer_, ec.message());
        self->CloseOnStrand();
      }
    }
    self->writing_ = false;
  }

  void CloseOnStrand() {
    if (closed_) return;
    closed_ = true;
    for (const OutMessage& m : out_) Release(m.bytes);
    out_.clear();
    handshake_timer_.cancel();
    wake_.cancel();
    asio::error_code ec;
    socket_.shutdown(Socket::shutdown_both, ec);
    socket_.close(ec);
    server_->Forget(this);
  }

  Impl* const server_;
  const NbdServerOptions& options_;
  Socket socket_;
  const asio::any_io_executor executor_;  // the connection's strand
  asio::steady_timer handshake_timer_;
  asio::steady_timer wake_;  // the reader sleeps on it
  const std::string peer_;
  InputBuffer in_;
  bool closed_ = false;

  // Handshake state.
  bool no_zeroes_ = false;
  bool structured_ = false;
  bool meta_selected_ = false;  // base:allocation selected by SET_META_CONTEXT
  std::string meta_export_;     // for this export name
  bool server_stopping_ = false;
  bool in_transmission_ = false;

  // Transmission state.
  std::unique_ptr<Volume> volume_;
  TransmissionContext context_;
  uint32_t in_flight_ = 0;        // requests read whose reply is not written
  uint64_t bytes_in_flight_ = 0;  // their READ/WRITE lengths
  std::deque<OutMessage> out_;
  bool writing_ = false;  // a WriteLoop runs
};

Result<int> NbdServer::Impl::Start() {
  if (started_ || stopped_) return Status::FailedPrecondition("NbdServer::Start may be called once");
  if (options_.listen_tcp) {
    asio::error_code ec;
    auto address = asio::ip::make_address(options_.host, ec);
    if (ec) return Status::InvalidArgument("bad listen address '" + options_.host + "'");
    asio::ip::tcp::endpoint ep(address, static_cast<uint16_t>(options_.port));
    tcp_acceptor_.open(ep.protocol(), ec);
    if (!ec) tcp_acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec) tcp_acceptor_.bind(ep, ec);
    if (!ec) tcp_acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::Unavailable("nbd: cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                                 ": " + ec.message());
    }
    port_ = tcp_acceptor_.local_endpoint().port();
  }
  if (!options_.unix_socket_path.empty()) RETURN_IF_ERROR(ListenUnix());
  started_ = true;
  if (tcp_acceptor_.is_open()) asio::co_spawn(io_, AcceptLoop(tcp_acceptor_, "tcp"), asio::detached);
  if (unix_acceptor_.is_open()) asio::co_spawn(io_, AcceptLoop(unix_acceptor_, "unix"), asio::detached);
  work_.emplace(io_.get_executor());
  for (int i = 0; i < std::max(1, options_.io_threads); ++i) io_threads_.emplace_back([this] { io_.run(); });
  return port_;
}

Status NbdServer::Impl::ListenUnix() {
  const std::string& path = options_.unix_socket_path;
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return Status::AlreadyExists("nbd: " + path + " exists and is not a socket");
    ::unlink(path.c_str());
  }
  asio::error_code ec;
  asio::local::stream_protocol::endpoint ep(path);
  unix_acceptor_.open(ep.protocol(), ec);
  if (!ec) unix_acceptor_.bind(ep, ec);
  if (!ec) unix_acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    tcp_acceptor_.close(ec);
    return Status::Unavailable("nbd: cannot listen on unix socket " + path + ": " + ec.message());
  }
  return Status::Ok();
}

template <typename Acceptor>
asio::awaitable<void> NbdServer::Impl::AcceptLoop(Acceptor& acceptor, const char* kind) {
  asio::steady_timer retry(io_);
  while (!stopped_) {
    typename Acceptor::protocol_type::socket socket(asio::make_strand(io_));
    asio::error_code ec;
    co_await acceptor.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) break;
      // Out of descriptors, say: back off rather than spin.
      spdlog::warn("nbd: accept on the {} socket failed: {}", kind, ec.message());
      retry.expires_after(kAcceptRetryDelay);
      co_await retry.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    std::string peer = kind;
    if constexpr (std::is_same_v<Acceptor, asio::ip::tcp::acceptor>) {
      auto ep = socket.remote_endpoint(ec);
      peer = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
      socket.set_option(asio::ip::tcp::no_delay(true), ec);
    } else {
      peer = "unix:" + options_.unix_socket_path;
    }
    Admit(Socket(std::move(socket)), std::move(peer));
  }
}

bool NbdServer::Impl::Admit(Socket socket, std::string peer) {
  std::shared_ptr<Connection> conn;
  {
    std::lock_guard lock(mu_);
    if (conns_.size() >= options_.max_connections) {
      spdlog::warn("nbd: refusing connection from {}: {} connections open", peer, conns_.size());
      asio::error_code ec;
      socket.close(ec);
      return false;
    }
    conn = std::make_shared<Connection>(this, std::move(socket), std::move(peer));
    conns_[conn.get()] = conn;
  }
  conn->Start();
  return true;
}

Status NbdServer::Impl::Adopt(int fd) {
  if (!started_ || stopped_) {
    ::close(fd);
    return Status::FailedPrecondition("NbdServer::Adopt before Start or after Stop");
  }
  sockaddr_storage addr;
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Status st = Status::FromErrno(errno, "getsockname");
    ::close(fd);
    return st;
  }
  const int family = addr.ss_family;
  const int protocol = family == AF_UNIX ? 0 : IPPROTO_TCP;
  Socket socket(asio::make_strand(io_));
  asio::error_code ec;
  socket.assign(asio::generic::stream_protocol(family, protocol), fd, ec);
  if (ec) {
    ::close(fd);
    return Status::InvalidArgument("nbd: cannot serve descriptor " + std::to_string(fd) + ": " + ec.message());
  }
  if (!Admit(std::move(socket), "fd " + std::to_string(fd))) {
    return Status::ResourceExhausted("nbd: " + std::to_string(options_.max_connections) + " connections open");
  }
  return Status::Ok();
}

void NbdServer::Impl::Stop() {
  if (stopped_.exchange(true) || !started_) return;
  asio::post(io_, [this] {
    asio::error_code ec;
    tcp_acceptor_.close(ec);
    unix_acceptor_.close(ec);
  });
  {
    std::lock_guard lock(mu_);
    for (auto& [ptr, conn] : conns_) conn->Close();
  }
  {
    // From here no operation starts; wait for those running to complete.
    std::unique_lock lock(ops_mu_);
    stopping_ = true;
    while (!ops_cv_.wait_for(lock, kStopLogInterval, [this] { return ops_in_flight_ == 0; })) {
      spdlog::warn("nbd: stopping: waiting for {} volume operations to complete", ops_in_flight_);
    }
  }
  work_.reset();
  io_.stop();
  for (auto& t : io_threads_) t.join();
  io_threads_.clear();
  pool_.join();
  // Closes posted above may not have run before the loop stopped; no I/O
  // thread runs now, so close what is left directly.
  std::map<Connection*, std::shared_ptr<Connection>> left;
  {
    std::lock_guard lock(mu_);
    left = conns_;
  }
  for (auto& [ptr, conn] : left) conn->CloseNow();
  asio::error_code ec;
  tcp_acceptor_.close(ec);
  unix_acceptor_.close(ec);
  if (!options_.unix_socket_path.empty()) ::unlink(options_.unix_socket_path.c_str());
}

NbdServer::NbdServer(Backend* backend, NbdServerOptions options)
    : impl_(std::make_unique<Impl>(backend, std::move(options))) {}
NbdServer::~NbdServer() { Stop(); }
Result<int> NbdServer::Start() { return impl_->Start(); }
void NbdServer::Stop() { impl_->Stop(); }
int NbdServer::port() const { return impl_->port(); }
size_t NbdServer::connection_count() const { return impl_->connection_count(); }
Status NbdServer::Adopt(int fd) { return impl_->Adopt(fd); }

}  // namespace strata::block::nbd
