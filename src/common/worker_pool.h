// WorkerPool: a fixed number of threads that run submitted tasks in
// submission order (several at once, one per thread), for work that must
// not run on the thread that found it, such as a blocking read started from
// an RPC I/O thread.
//
// Stop() (and the destructor) runs every task already submitted, then
// joins the threads; Submit() after Stop() runs nothing and returns false.
//
// Thread-safety: thread-safe. Ownership: owns its threads and the tasks
// queued.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace strata {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`; false (and `task` dropped) once stopping.
  bool Submit(std::function<void()> task);
  void Stop();

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace strata
