// SecureRandom: unpredictable bytes for secrets and nonces (the cluster
// secret, the RPC handshake's challenges). Unlike Random (random.h), which
// is a seeded generator for jitter and tests, its output must not be
// guessable from earlier output; the real one reads the kernel's CSPRNG.
// Tests inject their own to make handshakes reproducible.
//
// Thread-safety: implementations are thread-safe.
#pragma once

#include <cstddef>
#include <memory>

#include "common/status.h"

namespace strata {

class SecureRandom {
 public:
  virtual ~SecureRandom() = default;
  // Fills `buf` with `n` unpredictable bytes; an error when the source fails.
  [[nodiscard]] virtual Status Fill(void* buf, size_t n) = 0;
};

// The kernel's generator (getrandom(2), the same pool as /dev/urandom).
std::shared_ptr<SecureRandom> NewOsSecureRandom();

}  // namespace strata
