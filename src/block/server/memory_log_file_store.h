// MemoryLogFileStore: a LogFileStore in memory for segment tests and the
// simulation. It behaves as the dfs does where a segment can tell: one
// writer per file, Fence() fails the earlier writer's appends with
// StaleEpoch, a rename replaces. Faults on demand: FailAppends() makes
// every append fail (as a dfs that cannot place data), and an append may be
// made to land without being acknowledged (LandNextAppendUnacknowledged: the
// bytes are in the file, the writer gets an error), as after a crash between
// the replicas' write and the acknowledgement.
//
// Crashes (SimulateCrash): the store remembers how much of each file is
// durable - what a `sync` file acknowledged, what a `memory` file had when
// it was last synced, sealed (Close) or fenced - and a crash of the whole
// cluster loses a seeded part of the rest: each file keeps its durable bytes
// and a random prefix of the others (none, all, or a cut anywhere, each a
// third of the time),
// as replicas trimmed to their last durable state leave a chasing-write
// file. Directory operations (create, rename, delete) are durable when they
// return, as the master's are. The writers of before the crash are dead:
// their appends, syncs and closes fail with Aborted.
//
// Thread-safety: thread-safe. Ownership: appenders and readers share the
// files with the store.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "block/server/log_file_store.h"
#include "env/random.h"

namespace strata::block {

class MemoryLogFileStore final : public LogFileStore {
 public:
  Status MakeDirs(const std::string& dir) override;
  Result<std::vector<LogFileEntry>> List(const std::string& dir) override;
  Result<std::unique_ptr<LogAppender>> Create(const std::string& path, dfs::Durability durability) override;
  Status Fence(const std::string& path) override;
  Result<std::shared_ptr<LogReader>> OpenReader(const std::string& path) override;
  Status Delete(const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;

  void FailAppends(bool fail) { fail_appends_ = fail; }
  void LandNextAppendUnacknowledged() { land_unacked_ = true; }
  // While held, appends wait (as on a slow dfs); held_appends() counts the
  // appends waiting now.
  void HoldAppends(bool hold);
  size_t held_appends();
  // The bytes of `path`; empty when missing.
  std::string Contents(const std::string& path);
  // Appends bytes behind every writer's back (a torn append).
  void AppendRaw(const std::string& path, const std::string& bytes);
  // Overwrites bytes of a file in place (corruption).
  void Corrupt(const std::string& path, uint64_t offset, char byte);
  // A crash (see above); returns the bytes it lost, drawn from `rng` file
  // by file in path order, so a seed gives the same store every time.
  uint64_t SimulateCrash(Random* rng);
  uint64_t crash_count() const { return generation_; }
  uint64_t bytes_appended() const { return bytes_appended_; }
  uint64_t syncs() const { return syncs_; }  // LogAppender::Sync calls
  size_t file_count();

  struct File {
    std::mutex mu;
    std::string data;
    uint64_t durable = 0;  // bytes of `data` a crash cannot take
    dfs::Durability durability = dfs::DURABILITY_SYNC;
    uint64_t writer_epoch = 0;
    bool sealed = false;
  };

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<File>> files_;
  std::map<std::string, bool> dirs_;
  std::atomic<bool> fail_appends_{false};
  std::atomic<bool> land_unacked_{false};
  std::mutex hold_mu_;
  std::condition_variable hold_cv_;
  bool hold_ = false;
  size_t held_ = 0;
  std::atomic<uint64_t> bytes_appended_{0};
  std::atomic<uint64_t> syncs_{0};
  std::atomic<uint64_t> generation_{0};  // crashes so far
  void WaitWhileHeld();
  friend class MemoryAppender;
};

}  // namespace strata::block
