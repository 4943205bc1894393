// Authentication of RPC connections by the cluster secret (docs/rpc.md,
// "Authentication"), after Ceph's cephx: both ends of a connection prove
// that they know the secret without sending it, then every frame carries a
// tag that binds it to that connection and to its place in the stream.
//
//   client                                   server
//   Hello {cn}                      ->
//                                   <-       Challenge {sn, HMAC(S, "server"|cn|sn)}
//   (checks the server's proof)
//   Proof {HMAC(S, "client"|cn|sn)} ->
//                                   <-       Verdict {accepted | refused + reason}
//
// cn and sn are 32-byte nonces from a SecureRandom; S is the secret. Frames
// then carry a 16-byte tag after their header: the first 16 bytes of
// HMAC-SHA256(K, seq | header | meta), K = HMAC(S, "c2s"|cn|sn) for requests
// and HMAC(S, "s2c"|cn|sn) for replies, seq counting that direction's frames
// from 0. A frame replayed, reordered, moved to another connection, or whose
// header or message was changed fails its tag. The bulk payload is covered
// through the body CRC in the header, as cephx signs a message's CRCs: the
// tag stops anyone without the secret from injecting or altering requests;
// it is not meant to stop an on-path attacker who rewrites chunk data while
// keeping its CRC32C.
//
// The classes here only build and check bytes; the connections that run them
// are in server.cc, client.cc and direct_channel.cc (one transport each).
//
// Thread-safety: RpcAuth is immutable and shared. A FrameMac is used by one
// thread at a time (its direction's sender or reader); the handshakes are
// used by one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "env/secure_random.h"
#include "rpc/frame.h"

struct evp_mac_ctx_st;

namespace strata::rpc {

inline constexpr size_t kSecretBytes = 32;
inline constexpr size_t kNonceBytes = 32;
inline constexpr size_t kProofBytes = 32;
// Handshake messages: fixed sizes, except the verdict's reason.
inline constexpr size_t kHelloBytes = 40;
inline constexpr size_t kChallengeBytes = 72;
inline constexpr size_t kProofMessageBytes = 40;
inline constexpr size_t kVerdictHeaderBytes = 8;
inline constexpr size_t kVerdictReasonMax = 512;
inline constexpr uint32_t kHelloMagic = 0x48525453;      // "STRH"
inline constexpr uint32_t kChallengeMagic = 0x43525453;  // "STRC"
inline constexpr uint32_t kProofMagic = 0x4b525453;      // "STRK"
inline constexpr uint32_t kVerdictMagic = 0x56525453;    // "STRV"
inline constexpr uint8_t kAuthVersion = 1;

// What a role needs to authenticate its connections: the cluster secret and
// where nonces come from. A null RpcAuth (no secret configured) turns
// authentication off: such a server accepts unauthenticated peers, and such
// a client connects without a handshake.
struct RpcAuth {
  std::string secret;                    // raw bytes, kSecretBytes or more
  std::shared_ptr<SecureRandom> random;  // never null
};

// HMAC-SHA256 of the concatenated `parts` under `key` (32 bytes).
std::string HmacSha256(std::string_view key, std::initializer_list<std::string_view> parts);

// Equal without a timing side channel.
bool SameBytes(std::string_view a, std::string_view b);

// The tags of one direction of an authenticated connection.
class FrameMac {
 public:
  explicit FrameMac(std::string_view key);
  ~FrameMac();
  FrameMac(const FrameMac&) = delete;
  FrameMac& operator=(const FrameMac&) = delete;

  // Writes the tag of the next frame of this direction into frame.tag.
  void Seal(OutFrame& frame);
  // Checks the tag of the next frame received; false when it does not match
  // (the frame was forged, altered, replayed or reordered).
  [[nodiscard]] bool Verify(const char* header, std::string_view meta, const char* tag);

 private:
  void Compute(const char* header, std::string_view meta, char* tag_out);

  evp_mac_ctx_st* ctx_;  // keyed once; reset per frame
  uint64_t seq_ = 0;
};

// The two directions of an authenticated connection.
struct Session {
  std::unique_ptr<FrameMac> send;
  std::unique_ptr<FrameMac> receive;
};

// The client's side, driven by its transport: send Hello(), read
// kChallengeBytes and pass them to OnChallenge() (which returns the proof to
// send), read the verdict (kVerdictHeaderBytes, then VerdictReasonBytes()
// more) and pass it to OnVerdict(). A failed proof is PermissionDenied with
// the reason, a malformed message ProtocolError.
class ClientHandshake {
 public:
  explicit ClientHandshake(const RpcAuth& auth) : auth_(auth) {}
  Result<std::string> Hello();
  Result<std::string> OnChallenge(std::string_view challenge);
  // The length of the reason that follows a verdict header; ProtocolError
  // when the header is not a verdict.
  Result<size_t> VerdictReasonBytes(std::string_view header) const;
  Status OnVerdict(std::string_view header, std::string_view reason);
  // After OnVerdict succeeded.
  Session TakeSession();

 private:
  const RpcAuth& auth_;
  std::string client_nonce_;
  std::string server_nonce_;
};

// The server's side: read kHelloBytes and pass them to OnHello() (which
// returns the challenge to send), read kProofMessageBytes and pass them to
// OnProof(), send Verdict(); TakeSession() when it was accepted.
class ServerHandshake {
 public:
  explicit ServerHandshake(const RpcAuth& auth) : auth_(auth) {}
  // True when a connection's first 40 bytes are a frame header, not a Hello:
  // a peer with authentication off sent a request at once.
  static bool IsFrame(std::string_view first);
  Result<std::string> OnHello(std::string_view hello);
  // Ok when the client proved the secret; the verdict to send either way.
  Status OnProof(std::string_view proof);
  std::string Verdict() const;
  Session TakeSession();

 private:
  const RpcAuth& auth_;
  std::string client_nonce_;
  std::string server_nonce_;
  Status outcome_ = Status::PermissionDenied("no proof received");
};

// The reason a server gives a peer that sent requests without the handshake
// (answered as a PermissionDenied reply to its first request).
inline constexpr std::string_view kAuthRequiredMessage =
    "authentication required: this server accepts only peers that know the cluster secret "
    "(give --secret-file or STRATA_SECRET_FILE, or --dir of the cluster)";

}  // namespace strata::rpc
