#include "rpc/handshake_io.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "rpc/frame_io.h"

namespace strata::rpc {
namespace {

asio::awaitable<Status> WriteAll(asio::ip::tcp::socket& socket, const std::string& bytes) {
  asio::error_code ec;
  co_await asio::async_write(socket, asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Status::Unavailable("authentication handshake: send failed: " + ec.message());
  co_return Status::Ok();
}

// The peer closed after `got` bytes of a handshake message.
Status ClosedEarly(size_t got) {
  // Not retryable: closing at once is how a server without a secret answers
  // a Hello; answering something else and closing, how other protocols do.
  if (got == 0) {
    return Status::PermissionDenied(
        "the server closed the connection during the authentication handshake: it runs without a cluster secret");
  }
  return Status::ProtocolError("the peer does not speak Strata RPC (it answered " + std::to_string(got) +
                               " bytes that are no authentication message, and closed)");
}

asio::awaitable<Result<std::string>> ReadExactly(asio::ip::tcp::socket& socket, size_t n) {
  std::string bytes(n, '\0');
  asio::error_code ec;
  size_t got = co_await asio::async_read(socket, asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
  if (ec == asio::error::eof) co_return ClosedEarly(got);
  if (ec) co_return Status::Unavailable("authentication handshake: " + ec.message());
  co_return bytes;
}

// Answers the first request of a peer that did not authenticate, then reads
// (and drops) what it sent until it closes, at most 1 MiB: closing with
// unread bytes would reset the connection and could lose the answer.
asio::awaitable<void> RefuseUnauthenticated(asio::ip::tcp::socket& socket, std::string_view first) {
  auto header = DecodeFrameHeader(first.data(), FrameLimits{});
  if (header.ok() && !header->is_reply()) {
    FrameHeader reply;
    reply.flags = kFlagReply;
    reply.method = header->method;
    reply.request_id = header->request_id;
    reply.status = static_cast<uint16_t>(StatusCode::kPermissionDenied);
    Status st = co_await WriteFrame(socket, MakeOutFrame(reply, std::string(kAuthRequiredMessage), ""));
    if (!st.ok()) co_return;
  }
  asio::error_code ec;
  socket.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  char sink[16384];
  for (size_t drained = 0; !ec && drained < (1u << 20);) {
    drained += co_await socket.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
  }
}

// A client's handshake error, naming the server; a ProtocolError (the
// server speaks something else) fails like a refusal, not retried.
Status ClientError(const Status& st, const std::string& endpoint) {
  StatusCode code = st.code() == StatusCode::kProtocolError ? StatusCode::kPermissionDenied : st.code();
  return Status(code, "cannot authenticate to " + endpoint + ": " + st.message());
}

// Blocking I/O on a non-blocking socket, until `deadline`.
using Deadline = std::chrono::steady_clock::time_point;

Status Wait(int fd, short events, Deadline deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status::Unavailable("authentication handshake timed out");
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r > 0) return Status::Ok();
    if (r < 0 && errno != EINTR) return Status::Unavailable(std::string("poll: ") + std::strerror(errno));
  }
}

Status SendAllBlocking(int fd, const std::string& bytes, Deadline deadline) {
  for (size_t at = 0; at < bytes.size();) {
    ssize_t n = ::send(fd, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
    if (n > 0) {
      at += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      RETURN_IF_ERROR(Wait(fd, POLLOUT, deadline));
    } else if (n < 0 && errno != EINTR) {
      return Status::Unavailable(std::string("authentication handshake: send failed: ") + std::strerror(errno));
    }
  }
  return Status::Ok();
}

Result<std::string> RecvExactlyBlocking(int fd, size_t len, Deadline deadline) {
  std::string bytes(len, '\0');
  for (size_t at = 0; at < len;) {
    ssize_t n = ::recv(fd, bytes.data() + at, len - at, 0);
    if (n > 0) {
      at += static_cast<size_t>(n);
    } else if (n == 0) {
      return ClosedEarly(at);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      RETURN_IF_ERROR(Wait(fd, POLLIN, deadline));
    } else if (errno != EINTR) {
      return Status::Unavailable(std::string("authentication handshake: ") + std::strerror(errno));
    }
  }
  return bytes;
}

asio::awaitable<Result<Session>> ClientSide(asio::ip::tcp::socket& socket, const RpcAuth& auth) {
  ClientHandshake hs(auth);
  auto hello = hs.Hello();
  if (!hello.ok()) co_return hello.status();
  if (Status st = co_await WriteAll(socket, *hello); !st.ok()) co_return st;
  auto challenge = co_await ReadExactly(socket, kChallengeBytes);
  if (!challenge.ok()) co_return challenge.status();
  auto proof = hs.OnChallenge(*challenge);
  if (!proof.ok()) co_return proof.status();
  if (Status st = co_await WriteAll(socket, *proof); !st.ok()) co_return st;
  auto header = co_await ReadExactly(socket, kVerdictHeaderBytes);
  if (!header.ok()) co_return header.status();
  auto reason_len = hs.VerdictReasonBytes(*header);
  if (!reason_len.ok()) co_return reason_len.status();
  std::string reason;
  if (*reason_len > 0) {
    auto r = co_await ReadExactly(socket, *reason_len);
    if (!r.ok()) co_return r.status();
    reason = std::move(*r);
  }
  if (Status st = hs.OnVerdict(*header, reason); !st.ok()) co_return st;
  co_return hs.TakeSession();
}

Result<Session> ClientSideBlocking(int fd, const RpcAuth& auth, uint32_t timeout_ms) {
  const Deadline deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  ClientHandshake hs(auth);
  ASSIGN_OR_RETURN(std::string hello, hs.Hello());
  RETURN_IF_ERROR(SendAllBlocking(fd, hello, deadline));
  ASSIGN_OR_RETURN(std::string challenge, RecvExactlyBlocking(fd, kChallengeBytes, deadline));
  ASSIGN_OR_RETURN(std::string proof, hs.OnChallenge(challenge));
  RETURN_IF_ERROR(SendAllBlocking(fd, proof, deadline));
  ASSIGN_OR_RETURN(std::string header, RecvExactlyBlocking(fd, kVerdictHeaderBytes, deadline));
  ASSIGN_OR_RETURN(size_t reason_len, hs.VerdictReasonBytes(header));
  std::string reason;
  if (reason_len > 0) {
    ASSIGN_OR_RETURN(reason, RecvExactlyBlocking(fd, reason_len, deadline));
  }
  RETURN_IF_ERROR(hs.OnVerdict(header, reason));
  return hs.TakeSession();
}

}  // namespace

asio::awaitable<Result<Session>> RunClientHandshake(asio::ip::tcp::socket& socket, const RpcAuth& auth,
                                                    const std::string& endpoint) {
  auto session = co_await ClientSide(socket, auth);
  if (!session.ok()) co_return ClientError(session.status(), endpoint);
  co_return session;
}

asio::awaitable<Result<Session>> RunServerHandshake(asio::ip::tcp::socket& socket, const RpcAuth& auth) {
  ServerHandshake hs(auth);
  std::string hello(kHelloBytes, '\0');
  asio::error_code ec;
  size_t got = co_await asio::async_read(socket, asio::buffer(hello), asio::redirect_error(asio::use_awaitable, ec));
  if (ec && got == 0) co_return Status::Unavailable("closed before sending anything");  // e.g. a port probe
  if (ec) co_return Status::PermissionDenied("the peer left in the middle of its hello");
  if (ServerHandshake::IsFrame(hello)) {
    co_await RefuseUnauthenticated(socket, hello);
    co_return Status::PermissionDenied("the peer sent a request without authenticating (it has no secret)");
  }
  auto challenge = hs.OnHello(hello);
  if (!challenge.ok()) co_return challenge.status();
  if (Status st = co_await WriteAll(socket, *challenge); !st.ok()) co_return st;
  auto proof = co_await ReadExactly(socket, kProofMessageBytes);
  if (!proof.ok()) {
    co_return Status::PermissionDenied("the peer left before proving the secret (it found that this server's "
                                       "secret differs from its own, or gave up)");
  }
  Status outcome = hs.OnProof(*proof);
  if (Status st = co_await WriteAll(socket, hs.Verdict()); !st.ok()) co_return st;
  if (!outcome.ok()) co_return outcome;
  co_return hs.TakeSession();
}

Result<Session> RunClientHandshakeBlocking(int fd, const RpcAuth& auth, const std::string& endpoint,
                                           uint32_t timeout_ms) {
  auto session = ClientSideBlocking(fd, auth, timeout_ms);
  if (!session.ok()) return ClientError(session.status(), endpoint);
  return session;
}

}  // namespace strata::rpc
