// WorkerLoop: runs one worker thread's io_context until it is stopped.
//
// With poll_us == 0 this is io_context::run(): the thread sleeps in
// epoll_wait whenever it has nothing to do. With poll_us > 0 the thread keeps
// polling (non-blocking epoll_wait, then the ready handlers) for up to
// poll_us microseconds after the last handler ran, and only then blocks. A
// busy server therefore never sleeps between requests, so a client's write
// does not have to wake it up (a scheduler wake-up and, in a VM, an
// inter-processor interrupt and an exit to the hypervisor per request); an
// idle server still sleeps after poll_us. This is the adaptive busy polling
// of Seastar's reactor and of Linux's SO_BUSY_POLL, bounded in time.
//
// Polling only pays when the worker has a core to itself. When the cores are
// oversubscribed the spinning thread gets preempted: the worker counts its
// involuntary context switches (getrusage, every kCheckMicros while it
// polls), and after kPreemptionsMax of them in one period it stops polling
// for kBackoffMicros, sleeping in epoll_wait as with poll_us == 0.
//
// Thread-safety: RunWorkerLoop runs on the worker thread; stop the context
// (io_context::stop) from any thread to end it.
// Ownership: borrows the context and the clock.
#pragma once

#include <cstdint>

#include <asio.hpp>

#include "env/clock.h"

namespace strata::cache {

// Returns when `ctx` is stopped.
void RunWorkerLoop(asio::io_context& ctx, const Clock* clock, uint64_t poll_us);

}  // namespace strata::cache
