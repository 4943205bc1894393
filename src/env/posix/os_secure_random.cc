// The real SecureRandom: getrandom(2), which draws from the same pool as
// /dev/urandom and blocks only until that pool was first seeded at boot.
#include <sys/random.h>

#include <cerrno>

#include "env/secure_random.h"

namespace strata {
namespace {

class OsSecureRandom final : public SecureRandom {
 public:
  Status Fill(void* buf, size_t n) override {
    auto* p = static_cast<char*>(buf);
    while (n > 0) {
      ssize_t got = ::getrandom(p, n, 0);
      if (got < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "getrandom");
      }
      p += got;
      n -= static_cast<size_t>(got);
    }
    return Status::Ok();
  }
};

}  // namespace

std::shared_ptr<SecureRandom> NewOsSecureRandom() {
  static const std::shared_ptr<SecureRandom> instance = std::make_shared<OsSecureRandom>();
  return instance;
}

}  // namespace strata
