#include "cache/server/worker_loop.h"

#include <sys/resource.h>

namespace strata::cache {

namespace {
// While polling, the worker checks this often whether it is being preempted.
constexpr uint64_t kCheckMicros = 10'000;
// Involuntary context switches within one check period that mean the cores
// are oversubscribed (a rare kernel thread on the worker's core causes one).
constexpr long kPreemptionsMax = 2;
// How long the worker then stops polling: spinning would take CPU from the
// clients and from everything else on the machine.
constexpr uint64_t kBackoffMicros = 1'000'000;

long InvoluntarySwitches() {
  rusage u{};
  if (getrusage(RUSAGE_THREAD, &u) != 0) return 0;
  return u.ru_nivcsw;
}
}  // namespace

void RunWorkerLoop(asio::io_context& ctx, const Clock* clock, uint64_t poll_us) {
  if (poll_us == 0) {
    ctx.run();
    return;
  }
  uint64_t now = clock->NowMicros();
  uint64_t last_work = now;
  uint64_t backoff_until = 0;
  uint64_t last_check = now;
  long switches = InvoluntarySwitches();
  while (!ctx.stopped()) {
    if (ctx.poll() > 0) {
      now = clock->NowMicros();
      last_work = now;
    } else {
      now = clock->NowMicros();
    }
    if (now - last_check >= kCheckMicros) {
      long s = InvoluntarySwitches();
      if (s - switches >= kPreemptionsMax) backoff_until = now + kBackoffMicros;
      switches = s;
      last_check = now;
    }
    if (now < backoff_until) {
      // Oversubscribed: run like poll_us == 0 (sleep whenever idle).
      if (ctx.run_one() == 0) break;
      now = clock->NowMicros();
      continue;
    }
    if (now - last_work < poll_us) continue;
    // Idle for poll_us: sleep until the next event.
    if (ctx.run_one() == 0) break;
    now = clock->NowMicros();
    last_work = now;
  }
}

}  // namespace strata::cache
