#include "dfs/chunkserver/store/chunk_store.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <set>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/crc32c.h"
#include "env/fault/crash_file_system.h"
#include "env/fault/fault_file_system.h"
#include "env/posix/posix_file_system.h"
#include "env/random.h"
#include "env/testing/temp_dir.h"

namespace strata::dfs {
namespace {

std::string Bytes(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  Random rnd(seed);
  rnd.Fill(s.data(), s.size());
  return s;
}

AppendArgs Args(uint64_t id, uint64_t epoch, uint64_t offset, const std::string& data) {
  AppendArgs a;
  a.chunk_id = id;
  a.epoch = epoch;
  a.offset = offset;
  a.data = data;
  a.data_crc = Crc32c(data);
  return a;
}

class ChunkStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(root_.empty());
    disk0_ = root_ + "/d0";
    disk1_ = root_ + "/d1";
    clock_ = std::make_shared<ManualClock>();
    fault_ = std::make_shared<FaultInjectingFileSystem>(NewPosixFileSystem(), clock_, 42);
    Reopen();
  }
  void TearDown() override { store_.reset(); }
  void Reopen() {
    store_.reset();
    ChunkStoreOptions opt;
    opt.disk_paths = {disk0_, disk1_};
    opt.disk_reserve_bytes = 0;
    opt.memory = memory_;
    opt.disk_probe_interval_ms = 0;  // probes are tested on their own
    auto s = ChunkStore::Open(opt, fault_, clock_, &metrics_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  std::string ReadAll(uint64_t id) {
    auto info = store_->Info(id);
    EXPECT_TRUE(info.ok());
    std::string out;
    Status st = store_->Read(id, 0, info->length, &out);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }
  std::string DataPath(const std::string& disk, uint64_t id) { return PathsForChunk(disk + "/chunks", id).chunk; }
  uint64_t Counter(const std::string& name) { return metrics_.GetCounter(name, "")->Value(); }

  TempDir dir_{"chunk_store_test"};
  std::string root_ = dir_.path(), disk0_, disk1_;
  std::shared_ptr<ManualClock> clock_;
  std::shared_ptr<FaultInjectingFileSystem> fault_;
  MetricsRegistry metrics_;
  MemoryFlusherOptions memory_;
  std::unique_ptr<ChunkStore> store_;
};

AppendArgs MemoryArgs(uint64_t id, uint64_t epoch, uint64_t offset, const std::string& data) {
  AppendArgs a = Args(id, epoch, offset, data);
  a.durability = WriteDurability::kMemory;
  return a;
}

// Polls `done` for up to 10 s of real time.
bool Eventually(const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST_F(ChunkStoreTest, AppendsAndReadsAcrossBlocks) {
  ASSERT_EQ(*store_->Create(1, 1, 0), 0u);
  std::string all;
  for (size_t n : {1000u, 5000u, 10000u, 1u, 4096u}) {
    std::string piece = Bytes(n, n);
    auto len = store_->Append(Args(1, 1, all.size(), piece));
    ASSERT_TRUE(len.ok()) << len.status().ToString();
    all += piece;
    EXPECT_EQ(*len, all.size());
  }
  EXPECT_EQ(ReadAll(1), all);
  std::string part;
  ASSERT_TRUE(store_->Read(1, 4000, 300, &part).ok());
  EXPECT_EQ(part, all.substr(4000, 300));
  ASSERT_TRUE(store_->Read(1, all.size() - 10, 100, &part).ok());  // short at the end
  EXPECT_EQ(part, all.substr(all.size() - 10));
  EXPECT_EQ(store_->Read(1, all.size() + 1, 1, &part).code(), StatusCode::kOutOfRange);
  Reopen();
  EXPECT_EQ(ReadAll(1), all);
}

// Data made durable leaves the page cache (drop-behind), so that the next
// appends reuse its pages; the partial last block stays for the next append.
TEST_F(ChunkStoreTest, SyncedDataIsDroppedFromThePageCache) {
  ASSERT_EQ(*store_->Create(1, 1, 0), 0u);
  std::string all;
  for (int i = 0; i < 5; ++i) {
    std::string piece = Bytes(512 * 1024 + 100, 100 + i);
    ASSERT_TRUE(store_->Append(Args(1, 1, all.size(), piece)).ok());
    all += piece;
  }
  std::string path = DataPath(disk0_, 1);
  if (!std::filesystem::exists(path)) path = DataPath(disk1_, 1);
  struct statfs fs {};
  ASSERT_EQ(::statfs(path.c_str(), &fs), 0);
  if (fs.f_type == TMPFS_MAGIC) GTEST_SKIP() << "tmpfs keeps its pages: nothing to drop";
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  const size_t file_size = kDataOffset + all.size();
  void* map = ::mmap(nullptr, file_size, PROT_READ, MAP_SHARED, fd, 0);
  ASSERT_NE(map, MAP_FAILED);
  std::vector<unsigned char> resident((file_size + 4095) / 4096);
  ASSERT_EQ(::mincore(map, file_size, resident.data()), 0);
  // Dropped in steps of at least 1 MiB: after 2.5 MiB, the first 2 MiB.
  const size_t first = kDataOffset / 4096, last = resident.size() - 1;  // data blocks; last is partial
  size_t cached = 0;
  for (size_t b = first; b < first + 512; ++b) cached += resident[b] & 1;
  EXPECT_EQ(cached, 0u) << "of the first 512 blocks";
  EXPECT_EQ(resident[last] & 1, 1) << "the partial last block stays cached";
  ::munmap(map, file_size);
  ::close(fd);
  EXPECT_EQ(ReadAll(1), all);  // read back from the disk
}

// A chunk found on two disks (copied to the second while the first was
// failed, then the first came back): the newer copy is served, whichever
// disk is read first.
TEST_F(ChunkStoreTest, DuplicateReplicaOnTwoDisksServesTheNewerCopy) {
  std::string first = Bytes(5000, 31), more = Bytes(3000, 32);
  ASSERT_TRUE(store_->Create(7, 1, 0).ok());
  ASSERT_TRUE(store_->Append(Args(7, 1, 0, first)).ok());
  auto info = store_->Info(7);
  ASSERT_TRUE(info.ok());
  const std::string dir0 = (info->disk == 0 ? disk0_ : disk1_) + "/chunks";
  const std::string dir1 = (info->disk == 0 ? disk1_ : disk0_) + "/chunks";
  const ChunkPaths old_paths = PathsForChunk(dir0, 7), new_paths = PathsForChunk(dir1, 7);
  store_.reset();  // stale copy: epoch 1, open, 5000 bytes
  const std::string stale = root_ + "/stale";
  std::filesystem::create_directories(stale);
  std::filesystem::copy_file(old_paths.chunk, stale + "/c");
  std::filesystem::copy_file(old_paths.meta, stale + "/m");
  Reopen();
  ASSERT_TRUE(store_->Append(Args(7, 1, 5000, more)).ok());
  ASSERT_TRUE(store_->Seal(7, 2, 8000).ok());
  store_.reset();  // newer copy moves to the other disk; the stale one comes back
  std::filesystem::create_directories(dir1);
  std::filesystem::rename(old_paths.chunk, new_paths.chunk);
  std::filesystem::rename(old_paths.meta, new_paths.meta);
  std::filesystem::copy_file(stale + "/c", old_paths.chunk);
  std::filesystem::copy_file(stale + "/m", old_paths.meta);
  Reopen();
  info = store_->Info(7);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->epoch, 2u);
  EXPECT_TRUE(info->sealed);
  EXPECT_EQ(info->length, 8000u);
  EXPECT_EQ(ReadAll(7), first + more);
}

// Readers running beside a writer see a prefix of what was written, never a
// CRC error from a half-applied append.
TEST_F(ChunkStoreTest, ReadsDuringAppendsSeeConsistentPrefixes) {
  ASSERT_TRUE(store_->Create(1, 1, 0).ok());
  std::string all = Bytes(600'000, 21);
  std::atomic<bool> done{false};
  std::atomic<int> errors{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      std::string out;
      while (!done) {
        Status st = store_->Read(1, 0, all.size(), &out);
        if (!st.ok() || all.compare(0, out.size(), out) != 0) errors++;
      }
    });
  }
  Random rnd(22);
  size_t off = 0;
  while (off < all.size()) {
    size_t n = std::min<size_t>(1 + rnd.Uniform(7000), all.size() - off);
    ASSERT_TRUE(store_->Append(Args(1, 1, off, all.substr(off, n))).ok());
    off += n;
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(ReadAll(1), all);
}

TEST_F(ChunkStoreTest, RetryGapAndMismatch) {
  ASSERT_TRUE(store_->Create(1, 1, 0).ok());
  std::string a = Bytes(6000, 1);
  ASSERT_TRUE(store_->Append(Args(1, 1, 0, a)).ok());
  auto retry = store_->Append(Args(1, 1, 0, a));
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_EQ(*retry, 6000u);
  auto retry_part = store_->Append(Args(1, 1, 100, a.substr(100, 50)));
  EXPECT_TRUE(retry_part.ok());
  auto differ = store_->Append(Args(1, 1, 0, Bytes(6000, 2)));
  EXPECT_EQ(differ.status().code(), StatusCode::kOutOfRange);
  auto gap = store_->Append(Args(1, 1, 7000, a));
  EXPECT_EQ(gap.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(gap.status().message().find("length=6000"), std::string::npos) << gap.status().message();
  auto overlap = store_->Append(Args(1, 1, 5000, a));  // runs past the end
  EXPECT_EQ(overlap.status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(store_->Info(1)->length, 6000u);
  EXPECT_EQ(ReadAll(1), a);
}

TEST_F(ChunkStoreTest, PayloadCrcMismatchWritesNothing) {
  ASSERT_TRUE(store_->Create(1, 1, 0).ok());
  AppendArgs args = Args(1, 1, 0, Bytes(100, 1));
  args.data_crc ^= 1;
  EXPECT_EQ(store_->Append(args).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(store_->Info(1)->length, 0u);
  EXPECT_LE(std::filesystem::file_size(DataPath(disk0_, 1)), kDataOffset);
  EXPECT_EQ(Counter("strata_chunkserver_append_crc_rejects_total"), 1u);
}

// Small sync appends write zeros ahead (1 MiB of data at a time), so that
// the appends after them overwrite allocated blocks; the zeros are never
// data: a seal and a restart trim them, and reads stop at the length.
TEST_F(ChunkStoreTest, SmallSyncAppendsWriteZerosAheadThatSealAndRestartTrim) {
  const uint64_t kStep = 1 << 20;
  ASSERT_TRUE(store_->Create(1, 1, 0).ok());
  ASSERT_TRUE(store_->Create(2, 1, 0).ok());
  std::string oracle;
  for (int i = 0; i < 300; ++i) {  // 300 x 4 KiB + 300: past the first step
    std::string piece = Bytes(4096 + (i == 7 ? 300 : 0), 30 + i);
    ASSERT_TRUE(store_->Append(Args(1, 1, oracle.size(), piece)).ok());
    oracle += piece;
    uint64_t size = std::filesystem::file_size(DataPath(disk0_, 1));
    ASSERT_GT(size, kDataOffset + oracle.size()) << "after append " << i;
    ASSERT_LE(size, kDataOffset + oracle.size() + kStep);
  }
  EXPECT_EQ(std::filesystem::file_size(DataPath(disk0_, 1)), kDataOffset + 2 * kStep);
  EXPECT_EQ(ReadAll(1), oracle);
  std::string tail;
  ASSERT_TRUE(store_->Read(1, oracle.size() - 10, 4096, &tail).ok());
  EXPECT_EQ(tail, oracle.substr(oracle.size() - 10));  // stops at the length

  // A restart trims the zeros; appends go on from the length.
  Reopen();
  EXPECT_EQ(store_->Info(1)->length, oracle.size());
  EXPECT_EQ(std::filesystem::file_size(DataPath(disk0_, 1)), kDataOffset + oracle.size());
  std::string more = Bytes(5000, 99);
  ASSERT_TRUE(store_->Append(Args(1, 1, oracle.size(), more)).ok());
  oracle += more;
  EXPECT_GT(std::filesystem::file_size(DataPath(disk0_, 1)), kDataOffset + oracle.size());

  // A seal at the current length trims them too, durably.
  ASSERT_TRUE(store_->Seal(1, 1, oracle.size()).ok());
  EXPECT_EQ(std::filesystem::file_size(DataPath(disk0_, 1)), kDataOffset + oracle.size());
  Reopen();
  EXPECT_TRUE(store_->Info(1)->sealed);
  EXPECT_EQ(ReadAll(1), oracle);

  // Large appends carry enough data per sync: no zeros ahead of them, and
  // memory-durability appends leave the file as they found it too.
  std::string big = Bytes(256 << 10, 98);
  ASSERT_TRUE(store_->Append(Args(2, 1, 0, big)).ok());
  EXPECT_EQ(std::filesystem::file_size(DataPath(disk0_, 2)), kDataOffset + big.size());
  ASSERT_TRUE(store_->Append(MemoryArgs(2, 1, big.size(), Bytes(100, 97))).ok());
  EXPECT_EQ(std::filesystem::file_size(DataPath(disk0_, 2)), kDataOffset + big.size() + 100);
}

TEST_F(ChunkStoreTest, SealTruncatesAndIsFinal) {
  ASSERT_TRUE(store_->Create(1, 1, 0).ok());
  std::string a = Bytes(10000, 3);
  ASSERT_TRUE(store_->Append(Args(1, 1, 0, a)).ok());
  EXPECT_EQ(store_->Seal(1, 1, 20000).status().code(), StatusCode::kOutOfRange);  // shorter replica
  auto sealed = store_->Seal(1, 1, 6000);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(*sealed, 6000u);
  EXPECT_TRUE(store_->Info(1)->sealed);
  EXPECT_EQ(ReadAll(1), a.substr(0, 6000));
  EXPECT_EQ(std::filesystem::file_size(DataPath(disk0_, 1)), kDataOffset + 6000);
  EXPECT_TRUE(store_->Seal(1, 1, 6000).ok());  // idempotent
  EXPECT_EQ(store_->Seal(1, 1, 5000).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Append(Args(1, 1, 6000, a)).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store_->Append(Args(1, 1, 0, a.substr(0, 6000))).ok());  // a retry of held bytes
  Reopen();
  auto info = store_->Info(1);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->sealed);
  EXPECT_EQ(info->length, 6000u);
  EXPECT_EQ(ReadAll(1), a.substr(0, 6000));
}

TEST_F(ChunkStoreTest, EpochsFenceOldWriters) {
  ASSERT_TRUE(store_->Create(1, 5, 0).ok());
  EXPECT_EQ(store_->Append(Args(1, 4, 0, "x")).status().code(), StatusCode::kStaleEpoch);
  ASSERT_TRUE(store_->Append(Args(1, 6, 0, "x")).ok());
  EXPECT_EQ(store_->Info(1)->epoch, 6u);
  EXPECT_EQ(store_->Append(Args(1, 5, 1, "y")).status().code(), StatusCode::kStaleEpoch);
  EXPECT_EQ(store_->Seal(1, 5, 1).status().code(), StatusCode::kStaleEpoch);
  ASSERT_TRUE(store_->Seal(1, 7, 1).ok());
  Reopen();
  EXPECT_EQ(store_->Info(1)->epoch, 7u);
}

TEST_F(ChunkStoreTest, CreateIsIdempotentOnlyWhenEmpty) {
  ASSERT_TRUE(store_->Create(1, 1, 1).ok());
  auto again = store_->Create(1, 1, 0);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 1u);
  ASSERT_TRUE(store_->Append(Args(1, 1, 0, "abc")).ok());
  EXPECT_EQ(store_->Create(1, 1, 0).status().code(), StatusCode::kAlreadyExists);
}

TEST_F(ChunkStoreTest, FlippedByteOnDiskIsDetectedOnRead) {
  ASSERT_TRUE(store_->Create(1, 1, 0).ok());
  std::string a = Bytes(3 * 4096 + 500, 4);
  ASSERT_TRUE(store_->Append(Args(1, 1, 0, a)).ok());
  ASSERT_TRUE(store_->Seal(1, 1, a.size()).ok());
  {
    std::fstream f(DataPath(disk0_, 1), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(kDataOffset + 5000);
    char c = static_cast<char>(a[5000] ^ 0x01);
    f.write(&c, 1);
  }
  std::string out;
  EXPECT_TRUE(store_->Read(1, 0, 4096, &out).ok());
  Status st = store_->Read(1, 4096, 100, &out);
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
  EXPECT_EQ(store_->Read(1, 0, a.size(), &out).code(), StatusCode::kCorruption);
  EXPECT_TRUE(store_->Read(1, 8192, 4096, &out).ok());
  EXPECT_EQ(Counter("strata_chunkserver_corruptions_total"), 2u);
  // Corruption is the replica's problem, not the disk's.
  EXPECT_FALSE(store_->DiskReports()[0].failed);
}

TEST_F(ChunkStoreTest, TornTailIsTrimmedOnReopen) {
  ASSERT_TRUE(store_->Create(1, 1, 0).ok());
  ASSERT_TRUE(store_->Create(2, 1, 0).ok());
  std::string a = Bytes(5000, 5);
  ASSERT_TRUE(store_->Append(Args(1, 1, 0, a)).ok());
  ASSERT_TRUE(store_->Append(Args(2, 1, 0, a.substr(0, 4096))).ok());
  store_.reset();
  // Data that reached the disk without its CRCs: inside the partial block
  // and into the next one (chunk 1), and past a block boundary (chunk 2).
  {
    std::ofstream f(DataPath(disk0_, 1), std::ios::app | std::ios::binary);
    f << Bytes(4000, 6);
    std::ofstream g(DataPath(disk0_, 2), std::ios::app | std::ios::binary);
    g << Bytes(10, 7);
  }
  Reopen();
  EXPECT_EQ(store_->Info(1)->length, 5000u);
  EXPECT_EQ(ReadAll(1), a);
  EXPECT_EQ(std::filesystem::file_size(DataPath(disk0_, 1)), kDataOffset + 5000);
  EXPECT_EQ(store_->Info(2)->length, 4096u);
  std::string b = Bytes(3000, 8);
  ASSERT_TRUE(store_->Append(Args(1, 1, 5000, b)).ok());
  EXPECT_EQ(ReadAll(1), a + b);
}

// Writes `more` after `length` bytes of chunk `id` the way an append does
// (data, completed blocks' CRC entries, the older tail slot) without syncing,
// as if the process died before its fdatasync returned.
void WriteUnsyncedAppend(FileSystem* fs, const std::string& path, uint64_t length, const std::string& more) {
  auto file = fs->OpenFile(path, OpenMode::kReadWrite);
  ASSERT_TRUE(file.ok());
  std::string header(kSlotOffset[1] + kSlotSize, '\0');
  ASSERT_TRUE((*file)->ReadAt(0, header.data(), header.size()).ok());
  auto a = DecodeTailSlot(std::string_view(header).substr(kSlotOffset[0]));
  auto b = DecodeTailSlot(std::string_view(header).substr(kSlotOffset[1]));
  ASSERT_TRUE(a.ok() && b.ok());
  const TailSlot& newest = a->seq > b->seq ? *a : *b;
  int older = a->seq > b->seq ? 1 : 0;
  ASSERT_EQ(newest.length, length);
  ASSERT_TRUE((*file)->WriteAt(kDataOffset + length, more.data(), more.size()).ok());
  std::string entries;
  uint32_t tail = ComputeCrcEntries(length, newest.tail_crc, more, &entries);
  uint64_t completed = (length + more.size()) / 4096 - length / 4096;
  ASSERT_TRUE((*file)->WriteAt(kCrcTableOffset + length / 4096 * 4, entries.data(), completed * 4).ok());
  std::string slot = EncodeTailSlot(TailSlot{newest.seq + 1, length + more.size(), tail});
  ASSERT_TRUE((*file)->WriteAt(kSlotOffset[older], slot.data(), slot.size()).ok());
}

// After FaultInjectingFileSystem::DropUnsyncedData, which only truncates
// (CrashableFileSystem models lost pages itself): the unsynced data bytes
// [offset, offset + n) of the chunk at `path` did not reach the disk either. Where the file reaches
// that far (zeros written ahead for small sync appends, which the fault
// model keeps like any in-place write), the lost pages read back as those
// zeros.
void LoseUnsyncedData(const std::string& path, uint64_t offset, uint64_t n) {
  uint64_t size = std::filesystem::file_size(path);
  uint64_t begin = kDataOffset + offset;
  if (size <= begin) return;
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(begin));
  std::string zeros(std::min(n, size - begin), '\0');
  f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
}

TEST_F(ChunkStoreTest, NewestSlotWithoutItsDataFallsBack) {
  ASSERT_TRUE(store_->Create(1, 1, 0).ok());
  std::string a = Bytes(4096 + 300, 10);
  ASSERT_TRUE(store_->Append(Args(1, 1, 0, a)).ok());
  store_.reset();
  // The slot and data of the next append landed, but one block of its data
  // did not (zeros where the page was lost).
  WriteUnsyncedAppend(fault_.get(), DataPath(disk0_, 1), a.size(), Bytes(10000, 11));
  {
    std::fstream f(DataPath(disk0_, 1), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(kDataOffset + 8192);
    f.write(std::string(4096, '\0').data(), 4096);
  }
  Reopen();
  EXPECT_EQ(store_->Info(1)->length, a.size());
  EXPECT_EQ(ReadAll(1), a);
  EXPECT_EQ(std::filesystem::file_size(DataPath(disk0_, 1)), kDataOffset + a.size());
}

TEST_F(ChunkStoreTest, CompleteUnacknowledgedAppendMayBeKept) {
  ASSERT_TRUE(store_->Create(1, 1, 0).ok());
  std::string a = Bytes(300, 12);
  ASSERT_TRUE(store_->Append(Args(1, 1, 0, a)).ok());
  store_.reset();
  std::string b = Bytes(9000, 13);
  WriteUnsyncedAppend(fault_.get(), DataPath(disk0_, 1), a.size(), b);
  Reopen();  // no crash: everything reached the disk
  EXPECT_EQ(ReadAll(1), a + b);
}

TEST_F(ChunkStoreTest, EioMarksDiskFailedAndCreationMovesOn) {
  ASSERT_EQ(*store_->Create(1, 1, 0), 0u);
  DiskFault eio;
  eio.error_rate = 1.0;
  fault_->SetFault(disk0_, eio);
  Status st = store_->Append(Args(1, 1, 0, "hello")).status();
  EXPECT_EQ(st.code(), StatusCode::kIoError) << st.ToString();
  auto created = store_->Create(2, 1, 0);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(*created, 1u);
  fault_->ClearFault(disk0_);
  auto reports = store_->DiskReports();
  EXPECT_TRUE(reports[0].failed);
  EXPECT_NE(reports[0].failure.find("Input/output error"), std::string::npos) << reports[0].failure;
  EXPECT_FALSE(reports[1].failed);
  // A failed disk stays failed: no more writes go to it.
  EXPECT_EQ(store_->Append(Args(1, 1, 0, "hello")).status().code(), StatusCode::kIoError);
  EXPECT_EQ(*store_->Create(3, 1, 0), 1u);
}

// A store whose probe threads run every 2 ms of real time.
class DiskReturnTest : public ChunkStoreTest {
 protected:
  void OpenProbing(uint64_t auto_online_max = 3) {
    store_.reset();
    ChunkStoreOptions opt;
    opt.disk_paths = {disk0_, disk1_};
    opt.disk_reserve_bytes = 0;
    opt.disk_probe_interval_ms = 2;
    opt.disk_online_probes = 3;
    opt.disk_auto_online_max = auto_online_max;
    auto s = ChunkStore::Open(opt, fault_, clock_, &metrics_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  void WriteSealed(uint64_t id, const std::string& data) {
    ASSERT_EQ(*store_->Create(id, 1, 0), 0u);
    ASSERT_TRUE(store_->Append(Args(id, 1, 0, data)).ok());
    ASSERT_TRUE(store_->Seal(id, 1, data.size()).ok());
  }
  // Fails disk 0 with an EIO (a chunk creation meets it and goes to disk
  // 1), which stays injected until the caller clears it.
  void FailDisk0() {
    fault_->SetFault(disk0_, DiskFault{.error_rate = 1.0});
    (void)store_->Create(next_id_++, 1, 0);
    ASSERT_TRUE(Disk0Failed());
  }
  uint64_t Disk0Counter(const std::string& name) { return metrics_.GetCounter(name, "", "disk=\"0\"")->Value(); }
  uint64_t next_id_ = 1000;
  bool Disk0Failed() { return store_->DiskReports(/*drain_latency=*/false)[0].failed; }
};

TEST_F(DiskReturnTest, AFailedDiskPassingItsProbesReturnsWithItsIntactReplicasOnly) {
  OpenProbing();
  const std::string good = Bytes(100000, 1), bad = Bytes(100000, 2);
  WriteSealed(1, good);
  WriteSealed(2, bad);
  auto trusted_ids = [&] {
    std::set<uint64_t> ids;
    for (const auto& r : store_->ListReplicas(/*trusted_only=*/true)) ids.insert(r.chunk_id);
    return ids;
  };
  FailDisk0();
  EXPECT_EQ(trusted_ids(), std::set<uint64_t>({1000}));  // the creation that met the EIO went to disk 1
  const uint64_t layout_failed = store_->LayoutVersion();
  {  // chunk 2 rots while its disk is out
    std::fstream f(DataPath(disk0_, 2), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(kDataOffset + 5000);
    f.put(static_cast<char>(bad[5000] ^ 0x40));
  }
  const uint64_t probes = Counter("strata_chunkserver_disk_probes_total");
  EXPECT_TRUE(Disk0Failed());
  fault_->ClearFault(disk0_);
  ASSERT_TRUE(Eventually([&] { return !Disk0Failed(); }));
  EXPECT_GE(Counter("strata_chunkserver_disk_probes_total"), probes + 3);
  EXPECT_NE(store_->LayoutVersion(), layout_failed);
  EXPECT_EQ(ReadAll(1), good);
  EXPECT_EQ(store_->Info(2).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(DataPath(disk0_, 2)));
  EXPECT_EQ(Counter("strata_chunkserver_disk_return_replicas_removed_total"), 1u);
  EXPECT_EQ(trusted_ids(), std::set<uint64_t>({1, 1000}));
  EXPECT_EQ(*store_->Create(3, 1, 0), 0u);  // it takes new chunks again
  EXPECT_EQ(Disk0Counter("strata_chunkserver_disk_returns_total"), 1u);
}

TEST_F(DiskReturnTest, ADiskThatKeepsFailingWaitsForTheOperator) {
  OpenProbing(/*auto_online_max=*/1);
  FailDisk0();
  fault_->ClearFault(disk0_);
  ASSERT_TRUE(Eventually([&] { return !Disk0Failed(); }));
  FailDisk0();
  fault_->ClearFault(disk0_);
  // Probes pass again and again, but it has come back once already.
  const uint64_t probes = Counter("strata_chunkserver_disk_probes_total");
  ASSERT_TRUE(Eventually([&] { return Counter("strata_chunkserver_disk_probes_total") >= probes + 20; }));
  EXPECT_TRUE(Disk0Failed());
  ASSERT_TRUE(store_->ReturnDisk(0, /*forced=*/true).ok());
  EXPECT_FALSE(Disk0Failed());
  EXPECT_EQ(Disk0Counter("strata_chunkserver_disk_returns_total"), 2u);
}

TEST_F(DiskReturnTest, TheOperatorCannotReturnADiskThatStillFailsOrIsAnotherDisk) {
  const std::string data = Bytes(50000, 3);
  WriteSealed(1, data);
  FailDisk0();
  Status still = store_->ReturnDisk(0, /*forced=*/true);
  EXPECT_EQ(still.code(), StatusCode::kIoError) << still.ToString();
  EXPECT_TRUE(Disk0Failed());
  fault_->ClearFault(disk0_);
  // Another disk mounted in its place: no IDENTITY of the disk claimed.
  std::filesystem::rename(disk0_ + "/IDENTITY", disk0_ + "/IDENTITY.away");
  Status other = store_->ReturnDisk(0, /*forced=*/true);
  EXPECT_EQ(other.code(), StatusCode::kFailedPrecondition) << other.ToString();
  EXPECT_NE(other.message().find("not the disk"), std::string::npos) << other.ToString();
  EXPECT_TRUE(Disk0Failed());
  std::filesystem::rename(disk0_ + "/IDENTITY.away", disk0_ + "/IDENTITY");
  ASSERT_TRUE(store_->ReturnDisk(0, /*forced=*/true).ok());
  EXPECT_EQ(ReadAll(1), data);
  EXPECT_TRUE(store_->ReturnDisk(0, /*forced=*/true).ok());  // healthy: nothing to do
  EXPECT_EQ(store_->ReturnDisk(7, /*forced=*/true).code(), StatusCode::kInvalidArgument);
}

TEST_F(DiskReturnTest, AFullDiskReturnsOnlyOnceItHasRoom) {
  ASSERT_EQ(*store_->Create(1, 1, 0), 0u);
  fault_->SetFault(disk0_, DiskFault{.no_space = true});
  EXPECT_EQ(store_->Append(Args(1, 1, 0, "x")).status().code(), StatusCode::kNoSpace);
  ASSERT_TRUE(Disk0Failed());
  EXPECT_EQ(store_->ReturnDisk(0, /*forced=*/true).code(), StatusCode::kNoSpace);
  EXPECT_TRUE(Disk0Failed());
  fault_->ClearFault(disk0_);
  ASSERT_TRUE(store_->ReturnDisk(0, /*forced=*/true).ok());
  EXPECT_TRUE(store_->Append(Args(1, 1, 0, "x")).ok());
}

TEST_F(DiskReturnTest, ADiskOfAnotherClusterIsNeverReturned) {
  ASSERT_TRUE(store_->AdoptCluster(std::string(32, 'a')).ok());
  Status refused = store_->AdoptCluster(std::string(32, 'b'));
  ASSERT_EQ(refused.code(), StatusCode::kFailedPrecondition) << refused.ToString();
  ASSERT_TRUE(Disk0Failed());
  Status st = store_->ReturnDisk(0, /*forced=*/true);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_TRUE(Disk0Failed());
}

TEST_F(ChunkStoreTest, EioOnCreateTriesTheOtherDisk) {
  DiskFault eio;
  eio.error_rate = 1.0;
  fault_->SetFault(disk1_, eio);
  auto created = store_->Create(1, 1, 1);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(*created, 0u);
  EXPECT_TRUE(store_->DiskReports()[1].failed);
}

TEST_F(ChunkStoreTest, FullDiskIsAClearErrorAndNewChunksGoElsewhere) {
  ASSERT_EQ(*store_->Create(1, 1, 0), 0u);
  DiskFault full;
  full.no_space = true;
  fault_->SetFault(disk0_, full);
  Status st = store_->Append(Args(1, 1, 0, Bytes(100, 1))).status();
  EXPECT_EQ(st.code(), StatusCode::kNoSpace) << st.ToString();
  EXPECT_EQ(*store_->Create(2, 1, 0), 1u);
  auto reports = store_->DiskReports();
  EXPECT_TRUE(reports[0].failed);
  EXPECT_EQ(reports[1].chunks, 1u);
  fault_->SetFault(disk1_, full);
  EXPECT_EQ(store_->Create(3, 1, 1).status().code(), StatusCode::kNoSpace);
}

TEST_F(ChunkStoreTest, VanishedDiskDirectoryIsFailedAndItsReplicasUntrusted) {
  ASSERT_EQ(*store_->Create(1, 1, 0), 0u);
  ASSERT_EQ(*store_->Create(2, 1, 1), 1u);
  uint64_t layout = store_->LayoutVersion();
  std::filesystem::rename(disk0_, disk0_ + ".gone");
  { std::ofstream blocker(disk0_); }
  auto reports = store_->DiskReports();
  EXPECT_TRUE(reports[0].failed);
  EXPECT_NE(reports[0].failure.find("is gone"), std::string::npos) << reports[0].failure;
  EXPECT_NE(store_->LayoutVersion(), layout);
  auto trusted = store_->ListReplicas(/*trusted_only=*/true);
  ASSERT_EQ(trusted.size(), 1u);
  EXPECT_EQ(trusted[0].chunk_id, 2u);
  EXPECT_EQ(store_->ListReplicas().size(), 2u);
  EXPECT_EQ(*store_->Create(3, 1, 0), 1u);
}

TEST_F(ChunkStoreTest, DiskBelowTheReserveReportsFullAndGetsNoChunks) {
  store_.reset();
  ChunkStoreOptions opt;
  opt.disk_paths = {disk0_, disk1_};
  opt.disk_reserve_bytes = 1ull << 60;  // more than any disk has
  auto s = ChunkStore::Open(opt, fault_, clock_, &metrics_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->Create(1, 1, 0).status().code(), StatusCode::kNoSpace);
  auto reports = (*s)->DiskReports();
  EXPECT_TRUE(reports[0].failed);
  EXPECT_NE(reports[0].failure.find("full"), std::string::npos) << reports[0].failure;
}

TEST_F(ChunkStoreTest, FullDiskKeepsItsReplicasTrusted) {
  ASSERT_EQ(*store_->Create(1, 1, 0), 0u);
  DiskFault full;
  full.no_space = true;
  fault_->SetFault(disk0_, full);
  EXPECT_EQ(store_->Append(Args(1, 1, 0, "x")).status().code(), StatusCode::kNoSpace);
  EXPECT_EQ(store_->ListReplicas(/*trusted_only=*/true).size(), 1u);
}

TEST_F(ChunkStoreTest, DeleteRemovesFilesAndDebrisIsCleaned) {
  ASSERT_TRUE(store_->Create(1, 1, 0).ok());
  ASSERT_TRUE(store_->Append(Args(1, 1, 0, "abc")).ok());
  ASSERT_TRUE(store_->Delete(1).ok());
  EXPECT_EQ(store_->Info(1).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(DataPath(disk0_, 1)));
  EXPECT_TRUE(store_->Delete(1).ok());
  { std::ofstream debris(DataPath(disk1_, 7)); debris << "junk"; }
  Reopen();
  EXPECT_TRUE(store_->ListReplicas().empty());
  EXPECT_FALSE(std::filesystem::exists(DataPath(disk1_, 7)));
}

// A second store on a disk that a running store serves (another chunkserver
// pointed at the same directory) is refused before it touches anything, and
// says who holds the disk; the first store's replicas stay on disk.
TEST_F(ChunkStoreTest, ASecondOpenerOfALockedDiskIsRefused) {
  ASSERT_TRUE(store_->Create(1, 1, 0).ok());
  ASSERT_TRUE(store_->Append(Args(1, 1, 0, "abc")).ok());
  { std::ofstream debris(DataPath(disk0_, 7)); debris << "junk"; }  // would be cleaned by a load
  ChunkStoreOptions opt;
  opt.disk_paths = {root_ + "/other", disk0_};
  opt.disk_probe_interval_ms = 0;
  MetricsRegistry metrics;
  auto second = ChunkStore::Open(opt, fault_, clock_, &metrics);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition) << second.status().ToString();
  EXPECT_NE(second.status().message().find(disk0_), std::string::npos) << second.status().ToString();
  EXPECT_NE(second.status().message().find("pid " + std::to_string(::getpid())), std::string::npos)
      << second.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(DataPath(disk0_, 1)));
  EXPECT_TRUE(std::filesystem::exists(DataPath(disk0_, 7)));
  EXPECT_EQ(ReadAll(1), "abc");
  // Once the first store is gone, the disk opens again.
  store_.reset();
  auto third = ChunkStore::Open(opt, fault_, clock_, &metrics);
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_EQ((*third)->ListReplicas().size(), 1u);
}

TEST_F(ChunkStoreTest, DiskReportsCountOpsAndBytes) {
  ASSERT_TRUE(store_->Create(1, 1, 0).ok());
  ASSERT_TRUE(store_->Append(Args(1, 1, 0, Bytes(100, 1))).ok());
  ASSERT_TRUE(store_->Append(Args(1, 1, 100, Bytes(100, 2))).ok());
  auto reports = store_->DiskReports();
  EXPECT_EQ(reports[0].ops, 2u);
  EXPECT_EQ(reports[0].used_bytes, 200u);
  EXPECT_EQ(reports[0].chunks, 1u);
  EXPECT_GT(reports[0].capacity_bytes, 0u);
  EXPECT_EQ(store_->DiskReports()[0].ops, 0u);  // the window was drained
}

// Memory durability: acknowledged from the page cache, made durable by the
// flusher in the background; a power loss before the flush loses it on this
// replica (which is why it is acknowledged only with min_copies replicas).
TEST_F(ChunkStoreTest, MemoryAppendIsFlushedInTheBackground) {
  ASSERT_TRUE(store_->Create(1, 1, 0).ok());
  std::string a = Bytes(10000, 21);
  auto len = store_->Append(MemoryArgs(1, 1, 0, a));
  ASSERT_TRUE(len.ok()) << len.status().ToString();
  EXPECT_EQ(*len, a.size());
  EXPECT_EQ(ReadAll(1), a);  // readable at once
  // The replica, then the flusher's queue, count nothing unsynced.
  ASSERT_TRUE(Eventually([&] { return store_->Info(1)->unsynced_bytes == 0; }));
  ASSERT_TRUE(Eventually([&] { return store_->flusher()->DirtyBytes(0) == 0; }));
  store_.reset();
  ASSERT_TRUE(fault_->DropUnsyncedData().ok());  // power loss after the flush
  Reopen();
  EXPECT_EQ(ReadAll(1), a);
}

TEST_F(ChunkStoreTest, MemoryAppendOnAHungDiskIsAcknowledgedButNotDurable) {
  ASSERT_TRUE(store_->Create(1, 1, 0).ok());
  std::string a = Bytes(5000, 22);
  ASSERT_TRUE(store_->Append(Args(1, 1, 0, a)).ok());  // sync: durable
  fault_->SetFault(disk0_, DiskFault{.frozen = true});
  std::string b = Bytes(3000, 23), b2 = Bytes(2000, 24);
  ASSERT_TRUE(store_->Append(MemoryArgs(1, 1, a.size(), b)).ok());
  ASSERT_TRUE(store_->Append(MemoryArgs(1, 1, a.size() + b.size(), b2)).ok());
  EXPECT_EQ(store_->Info(1)->unsynced_bytes, b.size() + b2.size());
  // A power loss now keeps only what was synced, though the slots' page
  // reached the disk (the fault model keeps in-place writes): the durable
  // slot was never overwritten, so recovery trims to it. The hung sync then
  // fails (the machine is gone), so the store writes nothing more.
  ASSERT_TRUE(fault_->DropUnsyncedData().ok());
  fault_->SetFault(disk0_, DiskFault{.error_rate = 1.0});
  ASSERT_TRUE(Eventually([&] { return store_->DiskReports()[0].failed; }));
  store_.reset();
  fault_->ClearFault(disk0_);
  LoseUnsyncedData(DataPath(disk0_, 1), a.size(), b.size() + b2.size());
  Reopen();
  EXPECT_EQ(ReadAll(1), a);
}

TEST_F(ChunkStoreTest, MissedFlushDeadlineFailsTheDiskAndReportsItsReplicas) {
  memory_.flush_delay_ms_max = 1000;
  Reopen();
  std::vector<uint64_t> reported;
  std::mutex mu;
  store_->SetFlushFailureListener([&](uint64_t id, const std::string& reason) {
    std::lock_guard lock(mu);
    reported.push_back(id);
    EXPECT_NE(reason.find("deadline"), std::string::npos) << reason;
  });
  ASSERT_TRUE(store_->Create(1, 1, 0).ok());
  ASSERT_TRUE(store_->Create(2, 1, 1).ok());
  fault_->SetFault(disk0_ + "/", DiskFault{.frozen = true});
  ASSERT_TRUE(store_->Append(MemoryArgs(1, 1, 0, Bytes(100, 24))).ok());
  store_->flusher()->CheckDeadlines();
  EXPECT_FALSE(store_->DiskReports()[0].failed);  // not late yet
  clock_->Advance(1'500'000);
  store_->flusher()->CheckDeadlines();
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(reported, std::vector<uint64_t>{1});
  }
  auto reports = store_->DiskReports();
  EXPECT_TRUE(reports[0].failed);
  EXPECT_NE(reports[0].failure.find("flush deadline"), std::string::npos) << reports[0].failure;
  EXPECT_FALSE(reports[1].failed);
  // The failed disk refuses further appends; the other disk takes them.
  EXPECT_FALSE(store_->Append(MemoryArgs(1, 1, 100, "x")).ok());
  EXPECT_TRUE(store_->Append(MemoryArgs(2, 1, 0, "y")).ok());
  store_->flusher()->CheckDeadlines();  // reported once only
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(reported.size(), 1u);
  }
  fault_->ClearFault(disk0_ + "/");
}

TEST_F(ChunkStoreTest, MemoryAppendsAreRefusedWhenTheDiskQueueIsLong) {
  memory_.dirty_bytes_max = 64 << 10;
  Reopen();
  ASSERT_TRUE(store_->Create(1, 1, 0).ok());
  fault_->SetFault(disk0_ + "/", DiskFault{.frozen = true});
  uint64_t offset = 0;
  Status refused;
  for (int i = 0; i < 32 && refused.ok(); ++i) {
    std::string piece = Bytes(4096, 30 + i);
    auto len = store_->Append(MemoryArgs(1, 1, offset, piece));
    if (len.ok()) offset = *len;
    refused = len.status();
  }
  EXPECT_EQ(refused.code(), StatusCode::kUnavailable) << refused.ToString();
  EXPECT_NE(refused.ToString().find("unsynced bytes"), std::string::npos) << refused.ToString();
  EXPECT_LE(offset, uint64_t{64 << 10});
  // Sync appends are not refused by the memory bound (they wait for the disk).
  fault_->ClearFault(disk0_ + "/");
  ASSERT_TRUE(Eventually([&] { return store_->flusher()->DirtyBytes(0) == 0; }));
  EXPECT_TRUE(store_->Append(MemoryArgs(1, 1, offset, "z")).ok());
}

TEST_F(ChunkStoreTest, MemoryAppendsAreRefusedOnAFullDisk) {
  ASSERT_TRUE(store_->Create(1, 1, 0).ok());
  fault_->SetFault(disk0_ + "/", DiskFault{.no_space = true});
  (void)store_->DiskReports();  // the heartbeat measures the free space
  Status st = store_->Append(MemoryArgs(1, 1, 0, "abc")).status();
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_NE(st.ToString().find("full"), std::string::npos) << st.ToString();
  EXPECT_EQ(store_->Info(1)->length, 0u);  // nothing written
  fault_->ClearFault(disk0_ + "/");
  (void)store_->DiskReports();
  EXPECT_TRUE(store_->Append(MemoryArgs(1, 1, 0, "abc")).ok());
}

TEST_F(ChunkStoreTest, SealMakesMemoryAppendsDurable) {
  ASSERT_TRUE(store_->Create(1, 1, 0).ok());
  std::string a = Bytes(7000, 40);
  ASSERT_TRUE(store_->Append(MemoryArgs(1, 1, 0, a)).ok());
  ASSERT_TRUE(store_->Seal(1, 2, a.size()).ok());
  EXPECT_EQ(store_->Info(1)->unsynced_bytes, 0u);
  store_.reset();
  ASSERT_TRUE(fault_->DropUnsyncedData().ok());
  Reopen();
  EXPECT_EQ(ReadAll(1), a);
  EXPECT_TRUE(store_->Info(1)->sealed);
}

TEST_F(ChunkStoreTest, SyncMakesMemoryAppendsDurableAndLeavesTheFlushQueue) {
  memory_.flush_batch_ms = 600000;  // the background flusher waits: only Sync syncs
  memory_.flush_delay_ms_max = 1200000;
  Reopen();
  ASSERT_TRUE(store_->Create(1, 1, 0).ok());
  std::string a = Bytes(9000, 41);
  ASSERT_TRUE(store_->Append(MemoryArgs(1, 1, 0, a)).ok());
  EXPECT_EQ(store_->Info(1)->unsynced_bytes, a.size());
  EXPECT_EQ(store_->flusher()->DirtyBytes(0), a.size());
  auto synced = store_->Sync(1);
  ASSERT_TRUE(synced.ok()) << synced.status().ToString();
  EXPECT_EQ(*synced, a.size());
  EXPECT_EQ(store_->Info(1)->unsynced_bytes, 0u);
  EXPECT_EQ(store_->flusher()->DirtyBytes(0), 0u);
  // A power loss right after keeps it all.
  ASSERT_TRUE(fault_->DropUnsyncedData().ok());
  store_.reset();
  Reopen();
  EXPECT_EQ(ReadAll(1), a);
  EXPECT_EQ(store_->Sync(99).status().code(), StatusCode::kNotFound);
}

// Disks in a scratch directory on a fault-injecting file system and a
// manual clock, for the prober.
class DiskProberTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(root_.empty()); }
  // A disk `index` at <root>/d<index>, its directory created.
  std::unique_ptr<Disk> MakeDisk(uint32_t index) {
    auto d = std::make_unique<Disk>(index, root_ + "/d" + std::to_string(index), &metrics_);
    std::filesystem::create_directories(d->path());
    return d;
  }

  TempDir dir_{"disk_prober_test"};
  std::string root_ = dir_.path();
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
  std::shared_ptr<FaultInjectingFileSystem> fault_ =
      std::make_shared<FaultInjectingFileSystem>(NewPosixFileSystem(), clock_, 7);
  MetricsRegistry metrics_;
};

TEST_F(DiskProberTest, ProbesMeasureEachDiskAndFailABrokenOne) {
  auto slow_disk = MakeDisk(0), broken_disk = MakeDisk(1), fine_disk = MakeDisk(2);
  Disk &slow = *slow_disk, &broken = *broken_disk, &fine = *fine_disk;
  fault_->SetFault(slow.path() + "/", DiskFault{.latency_ms = 40});
  fault_->SetFault(broken.path() + "/", DiskFault{.error_rate = 1.0});
  DiskProber prober(0, 30000, {&slow, &broken, &fine}, fault_.get(), clock_.get(), &metrics_);
  ASSERT_TRUE(prober.ProbeOnce(&slow).ok());
  ASSERT_TRUE(prober.ProbeOnce(&fine).ok());
  EXPECT_EQ(prober.ProbeOnce(&broken).code(), StatusCode::kIoError);
  auto s = slow.DrainWindow();
  EXPECT_EQ(s.ops, 1u);
  EXPECT_GE(s.p99_us, 40'000u);  // the injected latency, as the clock saw it
  auto f = fine.DrainWindow();
  EXPECT_EQ(f.ops, 1u);
  EXPECT_LT(f.p99_us, 40'000u);
  EXPECT_TRUE(broken.failed());
  EXPECT_FALSE(slow.failed());
}

TEST_F(DiskProberTest, AProbeThatHangsMakesTheDiskSlowThenFailed) {
  auto hung_disk = MakeDisk(0);
  Disk& hung = *hung_disk;
  DiskProber prober(1000, 30000, {&hung}, fault_.get(), clock_.get(), &metrics_);
  fault_->SetFault(hung.path() + "/", DiskFault{.frozen = true});
  std::thread probe([&] { (void)prober.ProbeOnce(&hung); });
  ASSERT_TRUE(Eventually([&] {  // the probe is under way (blocked on the frozen disk)
    clock_->Advance(100'000);
    prober.CheckHung();
    return hung.PeekWindow().ops > 0;
  }));
  EXPECT_FALSE(hung.failed());
  EXPECT_GE(hung.PeekWindow().p99_us, 1'000'000u);  // its age so far counts as a write
  clock_->Advance(31'000'000);
  prober.CheckHung();
  EXPECT_TRUE(hung.failed());
  EXPECT_FALSE(hung.readable());
  EXPECT_NE(hung.failure().find("hung"), std::string::npos) << hung.failure();
  fault_->ClearFault(hung.path() + "/");
  probe.join();
}

// Crashes through CrashableFileSystem: every write the store did not sync
// may be kept or lost, sector by sector, and so may unsynced creates and
// renames. The store's promise: what it acknowledged is there after the
// crash, and it reports nothing it cannot read back against its CRCs.
class ChunkStoreCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    Reopen();
  }
  void Reopen() {
    store_.reset();
    ChunkStoreOptions opt;
    opt.disk_paths = {disk0_};
    opt.disk_reserve_bytes = 0;
    opt.disk_probe_interval_ms = 0;
    auto s = ChunkStore::Open(opt, fs_, clock_, &metrics_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  // The chunk's length after a crash, checked against the oracle: at least
  // what was acknowledged, and if more, exactly the whole unacknowledged
  // append read back intact.
  void ExpectAcknowledgedPrefix(uint64_t id, const std::string& acked, const std::string& in_flight) {
    auto info = store_->Info(id);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    ASSERT_TRUE(info->length == acked.size() || info->length == acked.size() + in_flight.size())
        << "length " << info->length << ", acknowledged " << acked.size();
    std::string out;
    ASSERT_TRUE(store_->Read(id, 0, info->length, &out).ok());
    EXPECT_EQ(out, info->length == acked.size() ? acked : acked + in_flight);
  }

  TempDir dir_{"chunk_store_crash_test"};
  std::string disk0_ = dir_.path() + "/d0";
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
  std::shared_ptr<CrashableFileSystem> fs_ = std::make_shared<CrashableFileSystem>(NewPosixFileSystem());
  MetricsRegistry metrics_;
  std::unique_ptr<ChunkStore> store_;
};

TEST_F(ChunkStoreCrashTest, CrashKeepsEverySyncedAppend) {
  ASSERT_TRUE(store_->Create(1, 1, 0).ok());
  std::string oracle;
  Random rnd(9);
  for (int i = 0; i < 40; ++i) {
    std::string piece = Bytes(1 + rnd.Uniform(9000), i);
    ASSERT_TRUE(store_->Append(Args(1, 1, oracle.size(), piece)).ok());
    oracle += piece;
  }
  store_.reset();
  // An append in flight at the crash: any of its sectors (data, table, slot)
  // may reach the disk while others do not.
  std::string in_flight = Bytes(7000, 99);
  WriteUnsyncedAppend(fs_.get(), PathsForChunk(disk0_ + "/chunks", 1).chunk, oracle.size(), in_flight);
  Random crash(9);
  ASSERT_TRUE(fs_->SimulateCrash(&crash).ok());
  Reopen();
  ExpectAcknowledgedPrefix(1, oracle, in_flight);
  const std::string durable = store_->Info(1)->length == oracle.size() ? oracle : oracle + in_flight;
  std::string more = Bytes(3000, 100);
  ASSERT_TRUE(store_->Append(Args(1, 1, durable.size(), more)).ok());
  Reopen();
  ExpectAcknowledgedPrefix(1, durable + more, "");
}

TEST_F(ChunkStoreCrashTest, AcknowledgedCreatesAndAppendsSurviveTheWorstCrash) {
  std::string oracle;
  ASSERT_TRUE(store_->Create(1, 1, 0).ok());
  Random rnd(21);
  for (int i = 0; i < 20; ++i) {
    std::string piece = Bytes(1 + rnd.Uniform(9000), 200 + i);
    ASSERT_TRUE(store_->Append(Args(1, 1, oracle.size(), piece)).ok());
    oracle += piece;
  }
  ASSERT_TRUE(fs_->DropAllUnsynced().ok());  // with the store still running
  Reopen();
  ExpectAcknowledgedPrefix(1, oracle, "");
}

TEST_F(ChunkStoreCrashTest, AnAppendInFlightIsAllOrNothingOverManySeededCrashes) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE(seed);
    const uint64_t id = seed;
    ASSERT_TRUE(store_->Create(id, 1, 0).ok());
    std::string acked = Bytes(1 + seed * 997 % 12000, seed);
    ASSERT_TRUE(store_->Append(Args(id, 1, 0, acked)).ok());
    store_.reset();
    // The process dies inside the next append, before its fdatasync.
    std::string in_flight = Bytes(1 + seed * 631 % 10000, 1000 + seed);
    WriteUnsyncedAppend(fs_.get(), PathsForChunk(disk0_ + "/chunks", id).chunk, acked.size(), in_flight);
    Random rng(seed);
    ASSERT_TRUE(fs_->SimulateCrash(&rng).ok());
    Reopen();
    ExpectAcknowledgedPrefix(id, acked, in_flight);
    // The replica takes appends again from the length it reports.
    auto info = store_->Info(id);
    ASSERT_TRUE(info.ok());
    std::string more = Bytes(3000, 5000 + seed);
    ASSERT_TRUE(store_->Append(Args(id, 1, info->length, more)).ok());
  }
}

}  // namespace
}  // namespace strata::dfs
