// libFuzzer harness for the NBD server (src/block/nbd): no byte string a
// client sends may crash it, read out of bounds, hang a connection or break
// the invariants of what it answers. The first byte picks the target:
//   0  the handshake parsers: client flags, option header, NBD_OPT_INFO/GO
//      and meta context data, block size negotiation;
//   1  the transmission parsers: request header, CheckRequest,
//      NormalizeExtents (whose output is checked against proto.md);
//   2  a whole session: the rest is what a client sends to an NbdServer
//      over a socketpair, from the first byte of the handshake;
//   3  the same after a canned NBD_OPT_GO of export "a" (simple replies);
//   4  the same after canned STRUCTURED_REPLY, SET_META_CONTEXT and GO.
// Run: fuzz/run (docs/fuzzing.md), or by hand:
// build-fuzz/fuzz/nbd_fuzz fuzz/corpus/nbd_fuzz
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "block/nbd/memory_volume.h"
#include "block/nbd/nbd_protocol.h"
#include "block/nbd/nbd_server.h"
#include "common/logging.h"

namespace {

using namespace strata::block::nbd;

// A session that does not end within this is a hang: a bug.
constexpr auto kSessionDeadline = std::chrono::seconds(20);

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

uint32_t Take32(std::string_view& in) {
  uint32_t v = 0;
  for (int i = 0; i < 4 && !in.empty(); ++i) {
    v = (v << 8) | static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
  }
  return v;
}

void FuzzHandshakeParsers(std::string_view in) {
  (void)ParseClientFlags(in.substr(0, std::min<size_t>(4, in.size())), kFlagFixedNewstyle | kFlagNoZeroes);
  (void)ParseOptionHeader(in.substr(0, std::min(kOptionHeaderBytes, in.size())));
  if (auto info = ParseInfoRequest(in); info.ok()) {
    Check(4 + info->name.size() + 2 + 2 * info->requests.size() == in.size());
  }
  if (auto meta = ParseMetaContextRequest(in); meta.ok()) {
    size_t total = 4 + meta->export_name.size() + 4;
    for (std::string_view q : meta->queries) {
      total += 4 + q.size();
      (void)QuerySelectsBaseAllocation(q, true);
      (void)QuerySelectsBaseAllocation(q, false);
    }
    Check(total == in.size());
  }
  ExportInfo info;
  std::string_view rest = in;
  info.size_bytes = (uint64_t{Take32(rest)} << 32) | Take32(rest);
  info.block_size_min = Take32(rest);
  info.block_size_preferred = Take32(rest);
  info.block_size_max = Take32(rest);
  const uint32_t payload_max = Take32(rest);
  if (auto sizes = NegotiateBlockSizes(info, payload_max); sizes.ok()) {
    Check(sizes->min > 0 && (sizes->min & (sizes->min - 1)) == 0 && sizes->min <= kBlockSizeMinMax);
    Check(sizes->max % sizes->min == 0 && sizes->max <= payload_max && sizes->max > 0);
    Check(sizes->preferred >= sizes->min);
  }
}

void FuzzTransmissionParsers(std::string_view in) {
  if (in.size() < kRequestBytes + 16) return;
  auto request = ParseRequest(in.substr(0, kRequestBytes));
  std::string_view rest = in.substr(kRequestBytes);
  ExportInfo info;
  info.size_bytes = (uint64_t{Take32(rest)} << 32) | Take32(rest);
  info.block_size_min = 1u << (Take32(rest) % 17);
  info.block_size_max = Take32(rest) | info.block_size_min;
  info.read_only = !rest.empty() && (rest[0] & 1);
  auto sizes = NegotiateBlockSizes(info, 32u << 20);
  if (!sizes.ok()) return;
  TransmissionContext context;
  context.size_bytes = info.size_bytes;
  context.flags = TransmissionFlags(info, true);
  context.block_sizes = *sizes;
  context.structured_replies = true;
  context.base_allocation = true;
  if (request.ok()) {
    RequestVerdict v = CheckRequest(*request, context);
    if (v.error == 0 && request->type != kCmdDisc && request->type != kCmdFlush) {
      // What the server passes on to a Volume is in range and aligned.
      Check(request->offset <= info.size_bytes && request->length <= info.size_bytes - request->offset);
      Check(request->offset % sizes->min == 0 && request->length % sizes->min == 0);
      if (request->type == kCmdRead || request->type == kCmdWrite) Check(request->length <= sizes->max);
    }
    (void)EncodeErrorChunk(request->handle, kNbdEinval, rest);
  }
  // Extents as a Volume might return them, for a request of `length`.
  const uint32_t length = std::max<uint32_t>(sizes->min, Take32(rest) / sizes->min * sizes->min);
  const bool req_one = !rest.empty() && (rest[0] & 2);
  std::vector<Extent> extents;
  while (rest.size() >= 5 && extents.size() < 4096) {
    uint32_t len = Take32(rest);
    uint8_t bits = static_cast<uint8_t>(rest[0]);
    rest.remove_prefix(1);
    extents.push_back({len, bool(bits & 1), bool(bits & 2)});
  }
  auto descriptors = NormalizeExtents(extents, length, sizes->min, req_one);
  Check(!descriptors.empty() && (!req_one || descriptors.size() == 1));
  Check(descriptors.size() <= kBlockStatusDescriptorsMax);
  uint64_t sum = 0;
  for (const BlockDescriptor& d : descriptors) {
    Check(d.length > 0 && d.length % sizes->min == 0);
    sum += d.length;
  }
  Check(sum <= length);
  (void)EncodeBlockStatusChunk(1, kBaseAllocationContextId, descriptors);
}

// The server every session talks to, made once: a 1 MiB export "a" (also
// the default export), a read-only one, small limits.
NbdServer& Server() {
  static MemoryBackend* backend = [] {
    spdlog::set_level(spdlog::level::off);
    auto* b = new MemoryBackend();
    ExportInfo a;
    a.name = "a";
    a.size_bytes = 1u << 20;
    a.block_size_max = 256 * 1024;
    (void)b->AddExport(a);
    ExportInfo ro;
    ro.name = "ro";
    ro.size_bytes = 64 * 1024;
    ro.read_only = true;
    (void)b->AddExport(ro);
    return b;
  }();
  static NbdServer* server = [] {
    NbdServerOptions options;
    options.listen_tcp = false;
    options.default_export = "a";
    options.io_threads = 1;
    options.backend_threads = 1;
    options.max_requests_in_flight = 16;
    options.max_bytes_in_flight = 1u << 20;
    options.max_payload_bytes = 256 * 1024;
    options.handshake_timeout_ms = 10'000;
    auto* s = new NbdServer(backend, options);
    Check(s->Start().ok());
    return s;
  }();
  return *server;
}

std::string Option(uint32_t option, std::string_view data) {
  std::string out = "IHAVEOPT";
  for (uint32_t v : {option, static_cast<uint32_t>(data.size())}) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
  }
  out.append(data);
  return out;
}

// The client side of a canned handshake up to NBD_OPT_GO of export "a".
std::string CannedHandshake(bool structured) {
  std::string out("\0\0\0\x03", 4);  // FIXED_NEWSTYLE | NO_ZEROES
  if (structured) {
    out += Option(kOptStructuredReply, "");
    out += Option(kOptSetMetaContext, std::string("\0\0\0\x01" "a" "\0\0\0\x01" "\0\0\0\x0f", 13) + "base:allocation");
  }
  out += Option(kOptGo, std::string("\0\0\0\x01" "a" "\0\0", 7));
  return out;
}

// Sends `input` as the client and reads (and drops) everything the server
// says until it closes the connection.
void FuzzSession(const std::string& input) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) != 0) return;
  Check(Server().Adopt(fds[0]).ok());
  const int fd = fds[1];
  size_t sent = 0;
  bool shut = false;
  const auto deadline = std::chrono::steady_clock::now() + kSessionDeadline;
  char buf[65536];
  for (;;) {
    Check(std::chrono::steady_clock::now() < deadline);
    if (sent == input.size() && !shut) {
      shutdown(fd, SHUT_WR);  // the server sees the end of the stream
      shut = true;
    }
    pollfd p{fd, static_cast<short>(POLLIN | (shut ? 0 : POLLOUT)), 0};
    if (poll(&p, 1, 100) <= 0) continue;
    if (p.revents & POLLOUT) {
      ssize_t n = send(fd, input.data() + sent, input.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && errno == EPIPE) {
        sent = input.size();  // the server closed while we were sending
      }
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) break;  // closed
    }
  }
  close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      FuzzHandshakeParsers(in);
      break;
    case 1:
      FuzzTransmissionParsers(in);
      break;
    case 2:
      FuzzSession(std::string(in));
      break;
    default:
      FuzzSession(CannedHandshake(data[0] % 5 == 4) + std::string(in));
      break;
  }
  return 0;
}
