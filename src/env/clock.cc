#include "env/clock.h"

#include <thread>

#include "env/random.h"

namespace strata {

uint64_t SystemClock::NowMicros() const {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

uint64_t SystemClock::WallMicros() const {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

void SystemClock::SleepMicros(uint64_t micros) { std::this_thread::sleep_for(std::chrono::microseconds(micros)); }

bool Clock::WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, uint64_t micros,
                    const std::function<bool()>& pred) {
  const uint64_t deadline = NowMicros() + micros;
  while (!pred()) {
    if (NowMicros() >= deadline) return pred();
    cv.wait_for(lock, std::chrono::milliseconds(1));
  }
  return true;
}

bool SystemClock::WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, uint64_t micros,
                          const std::function<bool()>& pred) {
  return cv.wait_for(lock, std::chrono::microseconds(micros), pred);
}

std::shared_ptr<Clock> SystemClock::Default() {
  static std::shared_ptr<Clock> clock = std::make_shared<SystemClock>();
  return clock;
}

void Random::Fill(void* buf, size_t n) {
  auto* p = static_cast<unsigned char*>(buf);
  while (n >= 8) {
    uint64_t v = Next64();
    for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
    p += 8;
    n -= 8;
  }
  uint64_t v = Next64();
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

uint64_t RandomSeedFromOs() { return (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}(); }

}  // namespace strata
