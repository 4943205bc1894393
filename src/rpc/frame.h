// The RPC frame: how requests and replies travel over a TCP connection.
//
// Every frame is a fixed 40-byte header followed by `meta_len` bytes of a
// serialized protobuf message and `bulk_len` bytes of raw payload (chunk data),
// which is read straight into its own buffer and never copied into protobuf.
// The byte-level layout is documented in docs/rpc.md.
//
//   0  u32 magic 'STRP' (0x50525453 little-endian)
//   4  u8  version (1)
//   5  u8  flags (bit 0: reply; bit 1: ordered request, see docs/rpc.md)
//   6  u16 status code (replies; StatusCode values)
//   8  u32 method id
//  12  u32 timeout_ms (requests: the caller's remaining deadline; 0 = none)
//  16  u64 request id
//  24  u32 meta_len
//  28  u32 bulk_len
//  32  u32 body crc32c (over meta then bulk)
//  36  u32 header crc32c (over bytes 0..35)
//
// On an authenticated connection (rpc/auth.h) a 16-byte tag follows the
// header, before the body.
//
// A frame whose magic, version, header CRC or lengths are wrong is a protocol
// error: the receiver logs the reason and closes that connection only.
//
// Thread-safety: pure functions over values (SendFrameNow: see there).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace strata::rpc {

inline constexpr uint32_t kFrameMagic = 0x50525453;  // "STRP"
inline constexpr uint8_t kFrameVersion = 1;
inline constexpr size_t kFrameHeaderSize = 40;
inline constexpr size_t kFrameTagBytes = 16;  // authenticated connections only
inline constexpr uint8_t kFlagReply = 1;
// A request that the server runs only after every earlier ordered request of
// the same connection finished (e.g. appends to one replica, several in
// flight): ordered requests of a connection run one at a time, in order.
inline constexpr uint8_t kFlagOrdered = 2;

struct FrameHeader {
  uint8_t flags = 0;
  uint16_t status = 0;
  uint32_t method = 0;
  uint32_t timeout_ms = 0;
  uint64_t request_id = 0;
  uint32_t meta_len = 0;
  uint32_t bulk_len = 0;
  uint32_t body_crc = 0;
  bool is_reply() const { return flags & kFlagReply; }
  bool is_ordered() const { return flags & kFlagOrdered; }
};

struct FrameLimits {
  uint32_t max_meta_bytes = 4u << 20;
  uint32_t max_bulk_bytes = 80u << 20;
};

// Writes the 40-byte header for `h` into `out` (computes the header CRC).
void EncodeFrameHeader(const FrameHeader& h, char* out);

// Parses and validates a 40-byte header. ProtocolError on bad magic, version,
// CRC, or lengths over `limits`.
Result<FrameHeader> DecodeFrameHeader(const char* in, const FrameLimits& limits);

// CRC32C of the body (meta then bulk).
uint32_t BodyCrc(std::string_view meta, std::string_view bulk);

// A frame body (meta and bulk) with its CRC, built once and shared by the
// frames that carry it, e.g. one append sent to every replica: neither copied
// nor checksummed again per frame. Immutable once built.
struct FrameBody {
  std::string meta;
  std::string bulk;
  uint32_t crc = 0;  // BodyCrc(meta, bulk)
};

std::shared_ptr<const FrameBody> MakeFrameBody(std::string meta, std::string bulk);

// An encoded frame ready to send: the header bytes, the tag on an
// authenticated connection (FrameMac::Seal), then the body, written with one
// gather write (the bulk payload is not copied).
struct OutFrame {
  char header[kFrameHeaderSize];
  char tag[kFrameTagBytes];
  size_t tag_len = 0;  // 0 or kFrameTagBytes (sealed)
  std::shared_ptr<const FrameBody> body;
  size_t sent = 0;  // bytes already written by a non-blocking send
  size_t size() const { return kFrameHeaderSize + tag_len + body->meta.size() + body->bulk.size(); }
};

OutFrame MakeOutFrame(FrameHeader h, std::string meta, std::string bulk);
OutFrame MakeOutFrame(FrameHeader h, std::shared_ptr<const FrameBody> body);

// Sends as much of the rest of `frame` as the socket `fd` takes now, without
// blocking, and advances `frame.sent`. False on a socket error (errno set);
// a full socket buffer is not an error. The caller makes sure nothing else
// writes to the socket meanwhile.
bool SendFrameNow(int fd, OutFrame& frame);

}  // namespace strata::rpc
