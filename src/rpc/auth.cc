#include "rpc/auth.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <bit>
#include <cstring>

namespace strata::rpc {
namespace {

// Labels keep the four HMACs of one handshake apart, so that no value one
// side sends can be replayed as another (a server's proof as a client's).
constexpr std::string_view kServerProofLabel = "strata-rpc-v1 server proof";
constexpr std::string_view kClientProofLabel = "strata-rpc-v1 client proof";
constexpr std::string_view kClientToServerLabel = "strata-rpc-v1 c2s frames";
constexpr std::string_view kServerToClientLabel = "strata-rpc-v1 s2c frames";

template <typename T>
void Put(std::string& out, size_t at, T v) {
  static_assert(std::endian::native == std::endian::little);
  std::memcpy(out.data() + at, &v, sizeof(T));
}

template <typename T>
T Get(std::string_view in, size_t at) {
  T v;
  std::memcpy(&v, in.data() + at, sizeof(T));
  return v;
}

// A message of `size` bytes starting with `magic` and the version.
std::string Message(size_t size, uint32_t magic) {
  std::string m(size, '\0');
  Put<uint32_t>(m, 0, magic);
  Put<uint8_t>(m, 4, kAuthVersion);
  return m;
}

Status CheckMessage(std::string_view m, size_t size, uint32_t magic, std::string_view what) {
  if (m.size() != size || Get<uint32_t>(m, 0) != magic) {
    return Status::ProtocolError("the peer does not speak Strata RPC (expected an authentication " +
                                 std::string(what) + ")");
  }
  if (Get<uint8_t>(m, 4) != kAuthVersion) {
    return Status::ProtocolError("unsupported authentication version " + std::to_string(Get<uint8_t>(m, 4)));
  }
  return Status::Ok();
}

Result<std::string> Nonce(const RpcAuth& auth) {
  std::string nonce(kNonceBytes, '\0');
  RETURN_IF_ERROR(auth.random->Fill(nonce.data(), nonce.size()));
  return nonce;
}

Session MakeSession(const RpcAuth& auth, std::string_view cn, std::string_view sn, bool client) {
  std::string c2s = HmacSha256(auth.secret, {kClientToServerLabel, cn, sn});
  std::string s2c = HmacSha256(auth.secret, {kServerToClientLabel, cn, sn});
  Session s;
  s.send = std::make_unique<FrameMac>(client ? c2s : s2c);
  s.receive = std::make_unique<FrameMac>(client ? s2c : c2s);
  return s;
}

}  // namespace

std::string HmacSha256(std::string_view key, std::initializer_list<std::string_view> parts) {
  std::string data;
  for (std::string_view p : parts) data.append(p);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

bool SameBytes(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

FrameMac::FrameMac(std::string_view key) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  ctx_ = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);  // the context holds its own reference
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  EVP_MAC_init(ctx_, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params);
}

FrameMac::~FrameMac() { EVP_MAC_CTX_free(ctx_); }

void FrameMac::Compute(const char* header, std::string_view meta, char* tag_out) {
  // Re-initialising without a key keeps the key: only the per-frame state
  // is reset, which is cheap.
  EVP_MAC_init(ctx_, nullptr, 0, nullptr);
  unsigned char seq[8];
  const uint64_t s = seq_++;
  std::memcpy(seq, &s, sizeof(seq));
  EVP_MAC_update(ctx_, seq, sizeof(seq));
  EVP_MAC_update(ctx_, reinterpret_cast<const unsigned char*>(header), kFrameHeaderSize);
  EVP_MAC_update(ctx_, reinterpret_cast<const unsigned char*>(meta.data()), meta.size());
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t len = 0;
  EVP_MAC_final(ctx_, out, &len, sizeof(out));
  std::memcpy(tag_out, out, kFrameTagBytes);
}

void FrameMac::Seal(OutFrame& frame) {
  Compute(frame.header, frame.body->meta, frame.tag);
  frame.tag_len = kFrameTagBytes;
}

bool FrameMac::Verify(const char* header, std::string_view meta, const char* tag) {
  char want[kFrameTagBytes];
  Compute(header, meta, want);
  return CRYPTO_memcmp(want, tag, kFrameTagBytes) == 0;
}

// Client.

Result<std::string> ClientHandshake::Hello() {
  ASSIGN_OR_RETURN(client_nonce_, Nonce(auth_));
  std::string m = Message(kHelloBytes, kHelloMagic);
  std::memcpy(m.data() + 8, client_nonce_.data(), kNonceBytes);
  return m;
}

Result<std::string> ClientHandshake::OnChallenge(std::string_view challenge) {
  RETURN_IF_ERROR(CheckMessage(challenge, kChallengeBytes, kChallengeMagic, "challenge"));
  server_nonce_ = std::string(challenge.substr(8, kNonceBytes));
  std::string_view proof = challenge.substr(8 + kNonceBytes, kProofBytes);
  if (!SameBytes(proof, HmacSha256(auth_.secret, {kServerProofLabel, client_nonce_, server_nonce_}))) {
    return Status::PermissionDenied(
        "the server did not prove that it knows the cluster secret: its secret file differs from this one "
        "(--secret-file, STRATA_SECRET_FILE), or it is not a role of this cluster");
  }
  std::string m = Message(kProofMessageBytes, kProofMagic);
  std::string mine = HmacSha256(auth_.secret, {kClientProofLabel, client_nonce_, server_nonce_});
  std::memcpy(m.data() + 8, mine.data(), kProofBytes);
  return m;
}

Result<size_t> ClientHandshake::VerdictReasonBytes(std::string_view header) const {
  if (header.size() != kVerdictHeaderBytes || Get<uint32_t>(header, 0) != kVerdictMagic) {
    return Status::ProtocolError("expected an authentication verdict");
  }
  const size_t n = Get<uint16_t>(header, 6);
  if (n > kVerdictReasonMax) return Status::ProtocolError("authentication verdict too long");
  return n;
}

Status ClientHandshake::OnVerdict(std::string_view header, std::string_view reason) {
  RETURN_IF_ERROR(VerdictReasonBytes(header).status());
  if (Get<uint8_t>(header, 5) != 1) {
    return Status::PermissionDenied("the server refused it: " + std::string(reason));
  }
  return Status::Ok();
}

Session ClientHandshake::TakeSession() { return MakeSession(auth_, client_nonce_, server_nonce_, true); }

// Server.

bool ServerHandshake::IsFrame(std::string_view first) {
  return first.size() >= 4 && Get<uint32_t>(first, 0) == kFrameMagic;
}

Result<std::string> ServerHandshake::OnHello(std::string_view hello) {
  RETURN_IF_ERROR(CheckMessage(hello, kHelloBytes, kHelloMagic, "hello"));
  client_nonce_ = std::string(hello.substr(8, kNonceBytes));
  ASSIGN_OR_RETURN(server_nonce_, Nonce(auth_));
  std::string m = Message(kChallengeBytes, kChallengeMagic);
  std::memcpy(m.data() + 8, server_nonce_.data(), kNonceBytes);
  std::string proof = HmacSha256(auth_.secret, {kServerProofLabel, client_nonce_, server_nonce_});
  std::memcpy(m.data() + 8 + kNonceBytes, proof.data(), kProofBytes);
  return m;
}

Status ServerHandshake::OnProof(std::string_view proof) {
  outcome_ = CheckMessage(proof, kProofMessageBytes, kProofMagic, "proof");
  if (outcome_.ok() && !SameBytes(proof.substr(8, kProofBytes),
                                  HmacSha256(auth_.secret, {kClientProofLabel, client_nonce_, server_nonce_}))) {
    outcome_ = Status::PermissionDenied("wrong cluster secret");
  }
  return outcome_;
}

std::string ServerHandshake::Verdict() const {
  std::string reason = outcome_.ok() ? "" : outcome_.message().substr(0, kVerdictReasonMax);
  std::string m = Message(kVerdictHeaderBytes, kVerdictMagic);
  Put<uint8_t>(m, 5, outcome_.ok() ? 1 : 0);
  Put<uint16_t>(m, 6, static_cast<uint16_t>(reason.size()));
  return m + reason;
}

Session ServerHandshake::TakeSession() { return MakeSession(auth_, client_nonce_, server_nonce_, false); }

}  // namespace strata::rpc
