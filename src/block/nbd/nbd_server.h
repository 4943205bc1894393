// NbdServer: serves the exports of a Backend to NBD clients (the Linux
// kernel's nbd-client, qemu, libnbd's nbdcopy/nbdinfo, fio's nbd engine)
// over TCP and/or a unix socket. The protocol is docs/nbd.md; its wire
// format lives in nbd_protocol.h.
//
// Handshake: fixed newstyle, with NBD_OPT_EXPORT_NAME, ABORT, LIST, INFO,
// GO, STRUCTURED_REPLY, LIST_META_CONTEXT and SET_META_CONTEXT
// (base:allocation); other options get NBD_REP_ERR_UNSUP. A connection that
// sends garbage, stops half way or takes longer than handshake_timeout_ms is
// closed with a log line; nobody else notices.
//
// Transmission: each request read is checked (nbd_protocol.h CheckRequest)
// and handed to the connection's Volume at once, so many run at a time; the
// replies go out in the order the Volume completes them. At most
// max_requests_in_flight requests (and about max_bytes_in_flight bytes of
// payload) of one connection are between being read and having their reply
// written: at the bound the server stops reading that socket, so a client
// that sends without reading replies is held back by TCP. A refused write's
// payload is read and dropped, so the connection stays usable; a write
// longer than max_payload_bytes closes it (proto.md: a denial of service).
// NBD_CMD_DISC, or the client's end of the stream, waits for the requests
// in flight, then closes.
//
// Connections are coroutines on an asio io_context with io_threads threads,
// one strand each: an idle connection costs a socket and a few KiB, never a
// thread. Backend::Open and Backend::List, which may block, run on
// backend_threads threads of their own.
//
// Volume completions may come on any thread, also after their connection was
// closed: they hold the connection state by shared_ptr and only post back
// to its strand. Stop() waits for every completion; a Volume is destroyed
// on a server thread after the done of each of its operations was called.
//
// Thread-safety: Start, Stop and Adopt may be called from any thread, Start
// once. Ownership: borrows the Backend, which must outlive the server; owns
// the Volumes it opens (one per connection in transmission).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "block/nbd/nbd_backend.h"
#include "common/result.h"

namespace asio {
class io_context;
}

namespace strata::block::nbd {

struct NbdServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;                  // 0: any free port (see NbdServer::port())
  bool listen_tcp = true;        // false: no TCP listener (unix socket or Adopt only)
  std::string unix_socket_path;  // also listen on this unix socket; empty: none
  // The export an empty name (NBD's "default export") stands for; empty:
  // such a request names no export.
  std::string default_export;
  int io_threads = 1;
  // Serve on this io_context (e.g. shared with the backend's RPC client, so
  // that a reply needs no hand-off between threads); the server still runs
  // io_threads threads on it and stops it in Stop(). It must outlive the
  // server. Null: the server's own.
  asio::io_context* io_context = nullptr;
  int backend_threads = 2;  // run Backend::Open / List
  uint32_t max_connections = 4096;
  uint32_t max_requests_in_flight = 128;           // per connection
  uint64_t max_bytes_in_flight = 128ull << 20;     // per connection; one request may pass it
  uint32_t max_payload_bytes = 32u << 20;          // longest READ/WRITE; caps NBD_INFO_BLOCK_SIZE max
  uint32_t handshake_timeout_ms = 10'000;          // connect to transmission phase
  uint32_t max_options_per_handshake = 1024;
};

class NbdServer {
 public:
  NbdServer(Backend* backend, NbdServerOptions options);
  ~NbdServer();  // Stop()
  NbdServer(const NbdServer&) = delete;
  NbdServer& operator=(const NbdServer&) = delete;

  // Binds the listeners and starts serving. Returns the bound TCP port (0
  // without a TCP listener). A stale unix socket file at unix_socket_path is
  // replaced; any other file there is an error.
  Result<int> Start();
  // Closes the listeners and every connection, waits for the Volume
  // operations in flight to complete, and stops the threads. A Volume that
  // never completes an operation holds Stop up (logged every 5 s).
  void Stop();

  // The bound TCP port, after Start.
  int port() const;
  // Connections open now (in handshake or transmission).
  size_t connection_count() const;

  // Serves an already connected stream socket (a socketpair end, an
  // inherited descriptor) as if it had been accepted; takes ownership of
  // `fd`, also on failure. REQUIRES: Start() succeeded.
  Status Adopt(int fd);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata::block::nbd
