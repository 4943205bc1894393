// Clock: the only way Strata code reads time or waits.
//
// Real code gets a SystemClock; tests get a ManualClock whose time moves only
// when the test advances it, so timeouts, heartbeats and failure detection
// are deterministic (as Seastar's manual_clock and RocksDB's MockSystemClock).
//
// Thread-safety: implementations are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace strata {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic microseconds; only differences are meaningful.
  virtual uint64_t NowMicros() const = 0;
  // Wall-clock microseconds since the Unix epoch, for timestamps users see.
  virtual uint64_t WallMicros() const = 0;
  // Blocks the calling thread for `micros` of this clock's time.
  virtual void SleepMicros(uint64_t micros) = 0;

  uint64_t NowMillis() const { return NowMicros() / 1000; }
};

class SystemClock final : public Clock {
 public:
  uint64_t NowMicros() const override;
  uint64_t WallMicros() const override;
  void SleepMicros(uint64_t micros) override;
  // A process-wide instance for main() to pass down.
  static std::shared_ptr<Clock> Default();
};

// Time stands still until Advance(); SleepMicros advances the clock itself.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(uint64_t start_micros = 1'000'000) : now_(start_micros) {}
  uint64_t NowMicros() const override { return now_.load(); }
  uint64_t WallMicros() const override { return now_.load(); }
  void SleepMicros(uint64_t micros) override { Advance(micros); }
  void Advance(uint64_t micros) { now_.fetch_add(micros); }

 private:
  std::atomic<uint64_t> now_;
};

}  // namespace strata
