#include "cache/server/worker_loop.h"

namespace strata::cache {

void RunWorkerLoop(asio::io_context& ctx, const Clock* clock, uint64_t poll_us) {
  if (poll_us == 0) {
    ctx.run();
    return;
  }
  uint64_t last_work = clock->NowMicros();
  while (!ctx.stopped()) {
    if (ctx.poll() > 0) {
      last_work = clock->NowMicros();
      continue;
    }
    if (clock->NowMicros() - last_work < poll_us) continue;
    // Idle for poll_us: sleep until the next event.
    if (ctx.run_one() == 0) break;
    last_work = clock->NowMicros();
  }
}

}  // namespace strata::cache
