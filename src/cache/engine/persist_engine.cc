#include "cache/engine/persist_engine.h"

#include <cstring>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "cache/engine/hash_index.h"
#include "cache/engine/stream.h"

namespace strata::cache {

namespace {

struct Header {
  uint8_t type;
  uint32_t flags;
  int64_t expire_ms;
  uint64_t cas;
};

void EncodeHeader(const Header& h, std::string* out) {
  out->push_back(static_cast<char>(h.type));
  out->append(reinterpret_cast<const char*>(&h.flags), 4);
  out->append(reinterpret_cast<const char*>(&h.expire_ms), 8);
  out->append(reinterpret_cast<const char*>(&h.cas), 8);
}

bool DecodeHeader(std::string_view raw, Header* h) {
  if (raw.size() < 21) return false;
  h->type = static_cast<uint8_t>(raw[0]);
  std::memcpy(&h->flags, raw.data() + 1, 4);
  std::memcpy(&h->expire_ms, raw.data() + 5, 8);
  std::memcpy(&h->cas, raw.data() + 13, 8);
  return true;
}

}  // namespace

Result<std::unique_ptr<PersistEngine>> PersistEngine::Open(const std::string& dir, const Clock* clock) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.IncreaseParallelism(2);
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &db);
  if (!s.ok()) return Status::IoError("open persist engine at " + dir + ": " + s.ToString());
  auto engine = std::unique_ptr<PersistEngine>(new PersistEngine(db, clock));
  // Rebuild the per-namespace counters (DBSIZE, quotas, expiries) from the data.
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    uint8_t ns = static_cast<uint8_t>(it->key()[0]);
    engine->counts_[ns]++;
    engine->bytes_[ns] += it->key().size() + it->value().size();
    Header h;
    if (DecodeHeader(std::string_view(it->value().data(), it->value().size()), &h)) {
      engine->expiries_.Add(ns, h.expire_ms, +1);
    }
  }
  return engine;
}

PersistEngine::PersistEngine(rocksdb::DB* db, const Clock* clock)
    : db_(db), clock_(clock), next_cas_(clock->WallMicros()) {}

PersistEngine::~PersistEngine() {
  db_->Close();
  delete db_;
}

size_t PersistEngine::ShardOf(std::string_view key) const { return HashKey(key) % kShards; }

bool PersistEngine::ReadRaw(std::string_view key, std::string* raw) {
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), raw);
  return s.ok();
}

Status PersistEngine::WriteRaw(std::string_view key, const std::string& raw) {
  rocksdb::WriteOptions wo;  // WAL on: durable against process crashes
  rocksdb::Status s = db_->Put(wo, rocksdb::Slice(key.data(), key.size()), raw);
  if (!s.ok()) {
    write_errors_++;
    return Status::IoError("persist engine write: " + s.ToString());
  }
  return Status::Ok();
}

void PersistEngine::RetimeExpiry(uint8_t ns, std::string_view old_raw, int64_t expire_ms) {
  Header h;
  if (!old_raw.empty() && DecodeHeader(old_raw, &h)) expiries_.Add(ns, h.expire_ms, -1);
  expiries_.Add(ns, expire_ms, +1);
}

ExpiryStats PersistEngine::Expiries(uint8_t ns) {
  const ExpiryTally* tallies[] = {&expiries_};
  return SumExpiries(tallies, ns, NowMs());
}

bool PersistEngine::Find(std::string_view key, ItemView* out) {
  thread_local std::string raw;
  if (!ReadRaw(key, &raw)) return false;
  Header h;
  if (!DecodeHeader(raw, &h)) return false;
  if (h.expire_ms != 0 && h.expire_ms <= NowMs()) {
    Erase(key);
    return false;
  }
  out->type = static_cast<ValueType>(h.type);
  out->flags = h.flags;
  out->cas = h.cas;
  out->expire_ms = h.expire_ms;
  out->object = nullptr;
  out->value = std::string_view(raw).substr(kHeader);
  if (out->type == ValueType::kStream) {
    out->object = CachedObject(key, h.cas, h.flags, h.expire_ms, out->value);
    if (out->object == nullptr) return false;
  }
  return true;
}

// The decoded stream at `key` as of record version `cas`.
ExternalValue* PersistEngine::CachedObject(std::string_view key, uint64_t cas, uint32_t flags, int64_t expire_ms,
                                           std::string_view bytes) {
  StreamCache& c = cache(key);
  auto it = c.find(std::string(key));
  if (it != c.end() && it->second.cas == cas) return it->second.object.get();
  auto decoded = StreamObject::Decode(bytes);
  if (!decoded.ok()) {
    corrupt_records_++;
    return nullptr;
  }
  if (it == c.end()) {
    if (c.size() >= kCachedStreams) c.erase(c.begin());
    it = c.emplace(std::string(key), CachedStream{}).first;
  }
  it->second = CachedStream{cas, flags, expire_ms, std::move(*decoded)};
  return it->second.object.get();
}

Status PersistEngine::WriteStream(std::string_view key, CachedStream& c) {
  std::string raw;
  c.cas = next_cas_++;
  EncodeHeader({static_cast<uint8_t>(ValueType::kStream), c.flags, c.expire_ms, c.cas}, &raw);
  raw += static_cast<const StreamObject*>(c.object.get())->Encode();
  std::string old;
  bool existed = ReadRaw(key, &old);
  RETURN_IF_ERROR(WriteRaw(key, raw));
  uint8_t ns = static_cast<uint8_t>(key[0]);
  RetimeExpiry(ns, existed ? old : std::string_view(), c.expire_ms);
  if (!existed) counts_[ns]++;
  bytes_[ns] += key.size() + raw.size();
  if (existed) bytes_[ns] -= key.size() + old.size();
  return Status::Ok();
}

void PersistEngine::ObjectChanged(std::string_view key) {
  StreamCache& c = cache(key);
  auto it = c.find(std::string(key));
  if (it == c.end()) return;
  // A failed write is counted (write_errors) and the cached copy dropped, so
  // the next read sees what is on disk.
  if (!WriteStream(key, it->second).ok()) c.erase(it);
}

Result<uint64_t> PersistEngine::PutString(std::string_view key, std::span<const std::string_view> pieces,
                                          uint32_t flags, int64_t expire_ms) {
  std::string old;
  bool existed = ReadRaw(key, &old);
  std::string raw;
  size_t len = 0;
  for (auto p : pieces) len += p.size();
  raw.reserve(kHeader + len);
  uint64_t cas = next_cas_++;
  EncodeHeader({static_cast<uint8_t>(ValueType::kString), flags, expire_ms, cas}, &raw);
  for (auto p : pieces) raw.append(p);
  RETURN_IF_ERROR(WriteRaw(key, raw));
  cache(key).erase(std::string(key));
  uint8_t ns = static_cast<uint8_t>(key[0]);
  RetimeExpiry(ns, existed ? old : std::string_view(), expire_ms);
  if (!existed) counts_[ns]++;
  bytes_[ns] += key.size() + raw.size();
  if (existed) bytes_[ns] -= key.size() + old.size();
  return cas;
}

Status PersistEngine::PutObject(std::string_view key, std::unique_ptr<ExternalValue> obj, int64_t expire_ms) {
  if (obj->type() != ValueType::kStream) {
    return Status::NotSupported("the persist engine stores strings, counters and streams only");
  }
  StreamCache& c = cache(key);
  CachedStream entry{0, 0, expire_ms, std::move(obj)};
  RETURN_IF_ERROR(WriteStream(key, entry));
  auto it = c.find(std::string(key));
  if (it == c.end() && c.size() >= kCachedStreams) c.erase(c.begin());
  c[std::string(key)] = std::move(entry);
  return Status::Ok();
}

bool PersistEngine::Erase(std::string_view key) {
  std::string old;
  if (!ReadRaw(key, &old)) return false;
  rocksdb::Status s = db_->Delete(rocksdb::WriteOptions(), rocksdb::Slice(key.data(), key.size()));
  if (!s.ok()) return false;
  cache(key).erase(std::string(key));
  uint8_t ns = static_cast<uint8_t>(key[0]);
  RetimeExpiry(ns, old, 0);
  counts_[ns]--;
  bytes_[ns] -= key.size() + old.size();
  Header h;
  return DecodeHeader(old, &h) && (h.expire_ms == 0 || h.expire_ms > NowMs());
}

bool PersistEngine::SetExpire(std::string_view key, int64_t expire_ms) {
  std::string raw;
  if (!ReadRaw(key, &raw)) return false;
  Header h;
  if (!DecodeHeader(raw, &h)) return false;
  int64_t old_expire_ms = h.expire_ms;
  h.expire_ms = expire_ms;
  h.cas = next_cas_++;
  std::string out;
  EncodeHeader(h, &out);
  out.append(raw, kHeader);
  if (!WriteRaw(key, out).ok()) return false;
  expiries_.Add(static_cast<uint8_t>(key[0]), old_expire_ms, -1);
  expiries_.Add(static_cast<uint8_t>(key[0]), expire_ms, +1);
  auto it = cache(key).find(std::string(key));
  if (it != cache(key).end()) {
    it->second.cas = h.cas;
    it->second.expire_ms = expire_ms;
  }
  return true;
}

void PersistEngine::Flush(int ns) {
  std::string lo(1, static_cast<char>(ns < 0 ? 0 : ns));
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  rocksdb::WriteBatch batch;
  for (it->Seek(lo); it->Valid(); it->Next()) {
    if (ns >= 0 && static_cast<uint8_t>(it->key()[0]) != ns) break;
    batch.Delete(it->key());
  }
  for (size_t i = 0; i < kShards; i++) {
    std::lock_guard<std::mutex> lock(mu_[i]);
    std::erase_if(streams_[i], [&](const auto& kv) { return ns < 0 || static_cast<uint8_t>(kv.first[0]) == ns; });
  }
  if (db_->Write(rocksdb::WriteOptions(), &batch).ok()) {
    for (int i = 0; i < 256; i++) {
      if (ns < 0 || i == ns) counts_[i] = bytes_[i] = 0;
    }
    expiries_.Clear(ns);
  }
}

// The cursor is a position (number of keys already returned) in the
// namespace's key order: simple and stable across restarts.
uint64_t PersistEngine::Scan(uint8_t ns, uint64_t cursor, size_t count,
                             const std::function<void(std::string_view, ValueType)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  uint64_t pos = 0;
  size_t emitted = 0;
  int64_t now = NowMs();
  for (it->Seek(std::string(1, static_cast<char>(ns))); it->Valid(); it->Next(), pos++) {
    if (static_cast<uint8_t>(it->key()[0]) != ns) return 0;
    if (pos < cursor) continue;
    if (emitted == count) return pos;
    Header h;
    std::string_view v(it->value().data(), it->value().size());
    if (DecodeHeader(v, &h) && (h.expire_ms == 0 || h.expire_ms > now)) {
      fn(std::string_view(it->key().data() + 1, it->key().size() - 1), static_cast<ValueType>(h.type));
    }
    emitted++;
  }
  return 0;
}

void PersistEngine::Tick() {
  // Reclaim expired records in bounded steps (lazy expiry covers reads).
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  int64_t now = NowMs();
  int visited = 0;
  std::vector<std::string> dead;
  for (it->Seek(expire_cursor_); it->Valid() && visited < 1000; it->Next(), visited++) {
    Header h;
    std::string_view v(it->value().data(), it->value().size());
    if (DecodeHeader(v, &h) && h.expire_ms != 0 && h.expire_ms <= now) dead.push_back(it->key().ToString());
    expire_cursor_ = it->key().ToString();
  }
  if (!it->Valid()) expire_cursor_.clear();
  for (const auto& k : dead) {
    std::lock_guard<std::mutex> lock(mu_[ShardOf(k)]);
    ItemView v;
    Find(k, &v);  // re-checks under the lock and erases if still expired
  }
}

nlohmann::json PersistEngine::Stats() {
  nlohmann::json j;
  uint64_t keys = 0;
  for (auto& c : counts_) keys += c.load();
  j["engine"] = "persist";
  j["items"] = keys;
  j["write_errors"] = write_errors_.load();
  j["corrupt_records"] = corrupt_records_.load();
  return j;
}

}  // namespace strata::cache
