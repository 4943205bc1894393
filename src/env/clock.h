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
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

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
  // Waits on `cv`, as std::condition_variable::wait_for with `lock` held,
  // until `pred` holds (checked whenever `cv` is notified) or `micros` of
  // this clock's time have passed; returns pred(). This is how a background
  // loop waits between rounds and still stops at once when told to. The
  // base version polls the clock every millisecond of real time (a clock
  // that tests move by hand); SystemClock waits exactly.
  virtual bool WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, uint64_t micros,
                       const std::function<bool()>& pred);

  uint64_t NowMillis() const { return NowMicros() / 1000; }
};

class SystemClock final : public Clock {
 public:
  uint64_t NowMicros() const override;
  uint64_t WallMicros() const override;
  void SleepMicros(uint64_t micros) override;
  bool WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, uint64_t micros,
               const std::function<bool()>& pred) override;
  // A process-wide instance for main() to pass down.
  static std::shared_ptr<Clock> Default();
};

// Time stands still until Advance(); SleepMicros advances the clock itself,
// WaitFor does not (it returns once pred() holds or another thread advanced
// the clock past its deadline).
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
