// libFuzzer harness for what an RPC connection reads (rpc/frame.h, rpc/auth.h):
// the 40-byte frame header, the body CRC, the frame tag of an authenticated
// connection, and the handshake messages. A header guards itself with a
// CRC32C, so random bytes stop there; the first byte picks how the rest is
// used:
//   0  raw: the rest is what a peer sent first (DecodeFrameHeader, IsFrame);
//   1  structured: the rest gives the header fields, the meta and bulk
//      lengths (within or past the limits) and the body; the harness encodes
//      the header with a valid CRC, optionally flips one byte, and decodes it
//      as FrameReader does. An intact header must decode to the same fields
//      (or be refused for lengths past the limits); a flipped one must be
//      refused. The body CRC and the tag of a sealed frame (FrameMac) are
//      checked the same way: intact passes, any flipped byte of the header
//      or meta fails the tag;
//   2  handshake: the rest supplies the messages a hostile peer sends to a
//      server (Hello, Proof) and to a client (Challenge, Verdict); none may
//      be accepted without the secret, and none may crash the parsers.
// Run: fuzz/run, or build-fuzz/fuzz/rpc_frame_fuzz fuzz/corpus/rpc_frame_fuzz
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "env/secure_random.h"
#include "rpc/auth.h"
#include "rpc/frame.h"
#include "fuzz_input.h"

namespace {

using namespace strata;
using namespace strata::rpc;
using strata::fuzz::Check;
using strata::fuzz::Take;
using strata::fuzz::TakeBytes;


// Nonces from the input: the harness is deterministic.
class InputRandom final : public SecureRandom {
 public:
  Status Fill(void* buf, size_t n) override {
    std::memset(buf, 0x5a, n);
    return Status::Ok();
  }
};

void FuzzRaw(std::string_view in) {
  (void)ServerHandshake::IsFrame(in.substr(0, std::min(in.size(), kFrameHeaderSize)));
  if (in.size() < kFrameHeaderSize) return;
  auto h = DecodeFrameHeader(in.data(), FrameLimits{});
  if (!h.ok()) return;
  char again[kFrameHeaderSize];
  EncodeFrameHeader(*h, again);
  // Bytes 4..35 are the fields; the version and CRC were checked.
  Check(std::memcmp(again, in.data(), kFrameHeaderSize) == 0);
}

void FuzzStructured(std::string_view in) {
  FrameLimits limits;
  limits.max_meta_bytes = 1 + Take(in, 2);
  limits.max_bulk_bytes = 1 + Take(in, 3);
  FrameHeader h;
  // Mostly the flags a peer sends (none, reply, ordered); sometimes others.
  const uint8_t flags = static_cast<uint8_t>(Take(in, 1));
  h.flags = flags & 0x80 ? flags : flags % 3;
  h.status = static_cast<uint16_t>(Take(in, 2));
  h.method = static_cast<uint32_t>(Take(in, 4));
  h.timeout_ms = static_cast<uint32_t>(Take(in, 4));
  h.request_id = Take(in, 8);
  const uint64_t flip = Take(in, 2);  // bit 15: flip byte (flip % 40) of the header
  const uint8_t mask = static_cast<uint8_t>(Take(in, 1));
  const uint64_t split = Take(in, 2);
  const bool declare_more = (flip & 0x4000) != 0;  // lengths past what follows
  std::string_view body = in;
  const size_t meta_len = body.empty() ? 0 : split % (body.size() + 1);
  std::string meta(body.substr(0, meta_len));
  std::string bulk(body.substr(meta_len));
  h.meta_len = static_cast<uint32_t>(meta.size() + (declare_more ? limits.max_meta_bytes : 0));
  h.bulk_len = static_cast<uint32_t>(bulk.size());
  h.body_crc = BodyCrc(meta, bulk);
  char header[kFrameHeaderSize];
  EncodeFrameHeader(h, header);
  const bool corrupt = (flip & 0x8000) && mask != 0;
  if (corrupt) header[(flip & 0x3fff) % kFrameHeaderSize] ^= static_cast<char>(mask);
  auto got = DecodeFrameHeader(header, limits);
  if (corrupt) {
    Check(!got.ok());
    return;
  }
  // Refused: lengths past the limits, unknown flags, an ordered reply.
  const bool flags_known = !(h.flags & ~(kFlagReply | kFlagOrdered)) && !(h.is_reply() && h.is_ordered());
  const bool within = h.meta_len <= limits.max_meta_bytes && h.bulk_len <= limits.max_bulk_bytes;
  Check(got.ok() == (within && flags_known));
  Check(ServerHandshake::IsFrame(std::string_view(header, kFrameHeaderSize)));
  if (!got.ok()) return;
  Check(got->flags == h.flags && got->status == h.status && got->method == h.method);
  Check(got->timeout_ms == h.timeout_ms && got->request_id == h.request_id);
  Check(got->meta_len == h.meta_len && got->bulk_len == h.bulk_len && got->body_crc == h.body_crc);
  Check(BodyCrc(meta, bulk) == got->body_crc);
  if (!bulk.empty()) {
    std::string bad = bulk;
    bad[(split >> 3) % bad.size()] ^= static_cast<char>(mask | 1);
    Check(BodyCrc(meta, bad) != got->body_crc);
  }
  // The tag of an authenticated connection: the sender seals, the reader
  // verifies, in order; an altered header or meta fails.
  const std::string key(32, static_cast<char>(h.method));
  FrameMac seal(key), verify(key), tampered(key);
  OutFrame out = MakeOutFrame(h, meta, bulk);
  seal.Seal(out);
  Check(out.tag_len == kFrameTagBytes);
  Check(verify.Verify(out.header, out.body->meta, out.tag));
  // The next frame of the direction has another sequence number: a replay fails.
  Check(!verify.Verify(out.header, out.body->meta, out.tag));
  std::string altered_meta = out.body->meta;
  char altered_header[kFrameHeaderSize];
  std::memcpy(altered_header, out.header, kFrameHeaderSize);
  const size_t at = (split >> 5) % (kFrameHeaderSize + altered_meta.size());
  if (at < kFrameHeaderSize) {
    altered_header[at] ^= static_cast<char>(mask | 1);
  } else {
    altered_meta[at - kFrameHeaderSize] ^= static_cast<char>(mask | 1);
  }
  Check(!tampered.Verify(altered_header, altered_meta, out.tag));
}

void FuzzHandshake(std::string_view in) {
  static auto* random = new std::shared_ptr<SecureRandom>(std::make_shared<InputRandom>());
  RpcAuth auth{std::string(32, 's'), *random};
  // A hostile client against a server.
  ServerHandshake server(auth);
  std::string hello(TakeBytes(in, kHelloBytes));
  auto challenge = server.OnHello(hello);
  if (challenge.ok()) {
    Check(challenge->size() == kChallengeBytes);
    std::string proof(TakeBytes(in, kProofMessageBytes));
    Status st = server.OnProof(proof);
    Check(!st.ok());  // the input does not know the secret
    Check(server.Verdict().size() >= kVerdictHeaderBytes);
  }
  // A hostile server against a client.
  ClientHandshake client(auth);
  auto h = client.Hello();
  Check(h.ok() && h->size() == kHelloBytes);
  std::string fake_challenge(TakeBytes(in, kChallengeBytes));
  auto proof = client.OnChallenge(fake_challenge);
  Check(!proof.ok());
  std::string verdict(TakeBytes(in, kVerdictHeaderBytes));
  if (auto reason_len = client.VerdictReasonBytes(verdict); reason_len.ok()) {
    Check(*reason_len <= kVerdictReasonMax);
    (void)client.OnVerdict(verdict, TakeBytes(in, *reason_len));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      FuzzRaw(in);
      break;
    case 1:
      FuzzStructured(in);
      break;
    default:
      FuzzHandshake(in);
      break;
  }
  return 0;
}
