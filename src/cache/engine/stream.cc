#include "cache/engine/stream.h"

#include <charconv>
#include <cstring>

namespace strata::cache {

bool StreamId::Incr() {
  if (seq != UINT64_MAX) return ++seq, true;
  if (ms == UINT64_MAX) return false;
  ms++;
  seq = 0;
  return true;
}

bool StreamId::Decr() {
  if (seq != 0) return --seq, true;
  if (ms == 0) return false;
  ms--;
  seq = UINT64_MAX;
  return true;
}

std::string StreamId::ToString() const { return std::to_string(ms) + "-" + std::to_string(seq); }

namespace {

// As Redis's string2ull: digits only, no sign, no overflow.
bool ParseU64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<ParsedStreamId> ParseStreamId(std::string_view s, uint64_t missing_seq, bool strict, bool allow_auto_seq) {
  Status invalid = Status::InvalidArgument("Invalid stream ID specified as stream command argument");
  if (s.size() > 127) return invalid;
  if (s == "-" || s == "+") {
    if (strict) return invalid;
    return ParsedStreamId{s == "-" ? StreamId::Min() : StreamId::Max(), true};
  }
  ParsedStreamId out;
  size_t dash = s.find('-');
  if (!ParseU64(s.substr(0, dash), &out.id.ms)) return invalid;
  if (dash == std::string_view::npos) {
    out.id.seq = missing_seq;
    return out;
  }
  std::string_view seq = s.substr(dash + 1);
  if (allow_auto_seq && seq == "*") {
    out.seq_given = false;
    return out;
  }
  if (!ParseU64(seq, &out.id.seq)) return invalid;
  return out;
}

size_t StreamObject::MemoryUsage() const {
  size_t n = sizeof(*this) + bytes_ + entries_.size() * (kNodeOverhead + sizeof(std::vector<std::string>));
  for (const auto& [name, g] : groups_) {
    n += kNodeOverhead + name.size() + sizeof(StreamGroup);
    n += g.pel.size() * (2 * kNodeOverhead + sizeof(StreamPending));
    n += g.consumers.size() * (kNodeOverhead + sizeof(StreamConsumer) + 16);
  }
  return n;
}

Result<StreamId> StreamObject::NextId(uint64_t now_ms, std::optional<uint64_t> ms) const {
  Status smaller = Status::InvalidArgument("not above the top item");
  if (!ms) {
    if (now_ms > last_id.ms) return StreamId{now_ms, 0};
    StreamId id = last_id;
    if (!id.Incr()) return Status::OutOfRange("exhausted");
    return id;
  }
  if (*ms != last_id.ms) {
    StreamId id{*ms, 0};
    if (id > last_id) return id;
    return smaller;
  }
  if (last_id.seq == UINT64_MAX) return smaller;
  return StreamId{last_id.ms, last_id.seq + 1};
}

void StreamObject::Append(StreamId id, std::span<const std::string_view> fields_values) {
  std::vector<std::string> fv(fields_values.begin(), fields_values.end());
  for (const auto& s : fv) bytes_ += s.size() + sizeof(std::string);
  entries_.emplace_hint(entries_.end(), id, std::move(fv));
  if (entries_.size() == 1) first_id = id;
  last_id = id;
  entries_added++;
}

bool StreamObject::Delete(StreamId id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return false;
  for (const auto& s : it->second) bytes_ -= s.size() + sizeof(std::string);
  bool was_first = it == entries_.begin();
  entries_.erase(it);
  if (id > max_deleted_id) max_deleted_id = id;
  if (entries_.empty()) first_id = {};
  else if (was_first) first_id = entries_.begin()->first;
  return true;
}

uint64_t StreamObject::RemoveFront(uint64_t n) {
  for (uint64_t i = 0; i < n; i++) {
    auto it = entries_.begin();
    for (const auto& s : it->second) bytes_ -= s.size() + sizeof(std::string);
    entries_.erase(it);
  }
  first_id = entries_.empty() ? StreamId{} : entries_.begin()->first;
  return n;
}

namespace {

// Approximate trims remove whole blocks of kNodeEntries, at most `limit`.
uint64_t Approximate(uint64_t n, bool approx, uint64_t limit) {
  if (!approx) return n;
  constexpr uint64_t kNode = StreamObject::kNodeEntries;
  n = n / kNode * kNode;
  if (limit > 0) n = std::min(n, limit / kNode * kNode);
  return n;
}

}  // namespace

uint64_t StreamObject::TrimMaxLen(uint64_t maxlen, bool approx, uint64_t limit) {
  if (entries_.size() <= maxlen) return 0;
  return RemoveFront(Approximate(entries_.size() - maxlen, approx, limit));
}

uint64_t StreamObject::TrimMinId(StreamId minid, bool approx, uint64_t limit) {
  uint64_t n = 0;
  for (auto it = entries_.begin(); it != entries_.end() && it->first < minid; ++it) n++;
  if (n == 0) return 0;
  return RemoveFront(Approximate(n, approx, limit));
}

StreamGroup* StreamObject::Group(std::string_view name) {
  auto it = groups_.find(name);
  return it == groups_.end() ? nullptr : &it->second;
}

int64_t StreamObject::EstimateEntriesRead(StreamId id) const {
  constexpr int64_t kInvalid = StreamGroup::kInvalidEntriesRead;
  if (entries_added == 0) return 0;
  if (entries_.empty() && id <= last_id) return static_cast<int64_t>(entries_added);
  if (id == last_id) return static_cast<int64_t>(entries_added);
  if (id > last_id) return kInvalid;
  if (max_deleted_id.IsZero() || max_deleted_id < first_id) {
    if (id < first_id) return static_cast<int64_t>(entries_added - entries_.size());
    if (id == first_id) return static_cast<int64_t>(entries_added - entries_.size() + 1);
  }
  return kInvalid;
}

bool StreamObject::RangeHasTombstones(StreamId start, StreamId end) const {
  if (entries_.empty() || max_deleted_id.IsZero()) return false;
  if (first_id > max_deleted_id) return false;
  return start <= max_deleted_id && max_deleted_id <= end;
}

std::optional<int64_t> StreamObject::Lag(const StreamGroup& g) const {
  if (entries_added == 0) return 0;
  if (g.entries_read != StreamGroup::kInvalidEntriesRead && !RangeHasTombstones(g.last_id, StreamId::Max())) {
    return static_cast<int64_t>(entries_added) - g.entries_read;
  }
  int64_t read = EstimateEntriesRead(g.last_id);
  if (read == StreamGroup::kInvalidEntriesRead) return std::nullopt;
  return static_cast<int64_t>(entries_added) - read;
}

void StreamObject::Deliver(StreamGroup& g, std::string_view name, StreamId id, int64_t now_ms, bool noack) {
  if (id > g.last_id) {
    if (g.entries_read != StreamGroup::kInvalidEntriesRead && g.last_id >= first_id &&
        !RangeHasTombstones(g.last_id, StreamId::Max())) {
      g.entries_read++;
    } else if (entries_added != 0) {
      g.entries_read = EstimateEntriesRead(id);
    }
    g.last_id = id;
  }
  if (noack) return;
  auto [it, inserted] = g.pel.try_emplace(id);
  if (!inserted) {
    auto old = g.consumers.find(it->second.consumer);
    if (old != g.consumers.end()) old->second.pending.erase(id);
  }
  it->second = StreamPending{std::string(name), now_ms, 1};
  StreamConsumer& c = g.consumers[std::string(name)];
  c.pending.insert(id);
  c.active_ms = now_ms;
}

void StreamObject::Assign(StreamGroup& g, StreamPending& p, StreamId id, std::string_view name) {
  if (p.consumer == name) return;
  auto old = g.consumers.find(p.consumer);
  if (old != g.consumers.end()) old->second.pending.erase(id);
  p.consumer.assign(name);
  g.consumers[std::string(name)].pending.insert(id);
}

bool StreamObject::Ack(StreamGroup& g, StreamId id) {
  auto it = g.pel.find(id);
  if (it == g.pel.end()) return false;
  auto c = g.consumers.find(it->second.consumer);
  if (c != g.consumers.end()) c->second.pending.erase(id);
  g.pel.erase(it);
  return true;
}

// --- persisted form (docs/cache.md) -----------------------------------------

namespace {

constexpr uint8_t kFormatVersion = 1;

void PutU32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }
void PutU64(std::string* out, uint64_t v) { out->append(reinterpret_cast<const char*>(&v), 8); }
void PutId(std::string* out, StreamId id) {
  PutU64(out, id.ms);
  PutU64(out, id.seq);
}
void PutStr(std::string* out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

// Bounds-checked reads of the encoding; any short read sets failed.
struct Reader {
  std::string_view in;
  bool failed = false;
  bool Take(void* dst, size_t n) {
    if (failed || in.size() < n) return !(failed = true);
    std::memcpy(dst, in.data(), n);
    in.remove_prefix(n);
    return true;
  }
  uint32_t U32() {
    uint32_t v = 0;
    Take(&v, 4);
    return v;
  }
  uint64_t U64() {
    uint64_t v = 0;
    Take(&v, 8);
    return v;
  }
  StreamId Id() {
    uint64_t ms = U64();
    return {ms, U64()};
  }
  std::string Str() {
    uint32_t n = U32();
    if (failed || in.size() < n) {
      failed = true;
      return {};
    }
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
};

}  // namespace

std::string StreamObject::Encode() const {
  std::string out;
  out.reserve(64 + bytes_ + entries_.size() * 24);
  out.push_back(static_cast<char>(kFormatVersion));
  PutId(&out, last_id);
  PutId(&out, first_id);
  PutId(&out, max_deleted_id);
  PutU64(&out, entries_added);
  PutU64(&out, entries_.size());
  for (const auto& [id, fv] : entries_) {
    PutId(&out, id);
    PutU32(&out, static_cast<uint32_t>(fv.size()));
    for (const auto& s : fv) PutStr(&out, s);
  }
  PutU32(&out, static_cast<uint32_t>(groups_.size()));
  for (const auto& [name, g] : groups_) {
    PutStr(&out, name);
    PutId(&out, g.last_id);
    PutU64(&out, static_cast<uint64_t>(g.entries_read));
    PutU32(&out, static_cast<uint32_t>(g.consumers.size()));
    for (const auto& [cname, c] : g.consumers) {
      PutStr(&out, cname);
      PutU64(&out, static_cast<uint64_t>(c.seen_ms));
      PutU64(&out, static_cast<uint64_t>(c.active_ms));
    }
    PutU64(&out, g.pel.size());
    for (const auto& [id, p] : g.pel) {
      PutId(&out, id);
      PutStr(&out, p.consumer);
      PutU64(&out, static_cast<uint64_t>(p.delivery_ms));
      PutU64(&out, p.delivery_count);
    }
  }
  return out;
}

Result<std::unique_ptr<StreamObject>> StreamObject::Decode(std::string_view bytes) {
  Status corrupt = Status::Corruption("stream record is malformed");
  Reader r{bytes};
  uint8_t version = 0;
  if (!r.Take(&version, 1) || version != kFormatVersion) return corrupt;
  auto s = std::make_unique<StreamObject>();
  s->last_id = r.Id();
  s->first_id = r.Id();
  s->max_deleted_id = r.Id();
  s->entries_added = r.U64();
  uint64_t n = r.U64();
  if (r.failed || n > bytes.size()) return corrupt;  // each entry takes 20+ bytes
  for (uint64_t i = 0; i < n && !r.failed; i++) {
    StreamId id = r.Id();
    uint32_t count = r.U32();
    if (r.failed || count > r.in.size() / 4) return corrupt;
    std::vector<std::string> fv;
    fv.reserve(count);
    for (uint32_t j = 0; j < count; j++) fv.push_back(r.Str());
    for (const auto& f : fv) s->bytes_ += f.size() + sizeof(std::string);
    s->entries_.emplace_hint(s->entries_.end(), id, std::move(fv));
  }
  uint32_t groups = r.U32();
  for (uint32_t i = 0; i < groups && !r.failed; i++) {
    StreamGroup& g = s->groups_[r.Str()];
    g.last_id = r.Id();
    g.entries_read = static_cast<int64_t>(r.U64());
    uint32_t consumers = r.U32();
    for (uint32_t j = 0; j < consumers && !r.failed; j++) {
      StreamConsumer& c = g.consumers[r.Str()];
      c.seen_ms = static_cast<int64_t>(r.U64());
      c.active_ms = static_cast<int64_t>(r.U64());
    }
    uint64_t pending = r.U64();
    for (uint64_t j = 0; j < pending && !r.failed; j++) {
      StreamId id = r.Id();
      StreamPending& p = g.pel[id];
      p.consumer = r.Str();
      p.delivery_ms = static_cast<int64_t>(r.U64());
      p.delivery_count = r.U64();
      g.consumers[p.consumer].pending.insert(id);
    }
  }
  if (r.failed || !r.in.empty()) return corrupt;
  return s;
}

}  // namespace strata::cache
