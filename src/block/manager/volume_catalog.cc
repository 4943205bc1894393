#include "block/manager/volume_catalog.h"

#include <algorithm>

#include <fmt/format.h>

namespace strata::block::manager {
namespace {

constexpr char kCountersKey[] = "n/counters";
constexpr char kDomainKey[] = "d/shared";
const std::set<SegmentKey> kNoSegments;

template <typename... Fs>
struct Overload : Fs... {
  using Fs::operator()...;
};
template <typename... Fs>
Overload(Fs...) -> Overload<Fs...>;

std::string Serialize(const google::protobuf::MessageLite& m) {
  std::string out;
  m.SerializeToString(&out);
  return out;
}

template <typename T>
Result<T> Parse(std::string_view key, std::string_view value) {
  T rec;
  if (!rec.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return Status::Corruption(fmt::format("blockmanager record {} does not parse", key));
  }
  return rec;
}

}  // namespace

std::string VolumeCatalog::VolumeKey(uint64_t id) { return fmt::format("v/{:016x}", id); }
std::string VolumeCatalog::SegmentRecordKey(SegmentKey key) {
  return fmt::format("s/{:016x}/{:08x}", key.first, key.second);
}
std::string VolumeCatalog::ServerKey(const std::string& id) { return "b/" + id; }
std::string VolumeCatalog::PendingKey(uint64_t volume_id) { return fmt::format("p/{:016x}", volume_id); }

Status VolumeCatalog::Load() {
  for (const char* prefix : {"v/", "s/", "b/", "p/", "d/", "n/"}) RETURN_IF_ERROR(LoadPrefix(prefix));
  RETURN_IF_ERROR(CheckSegments());
  if (counters_.next_volume_id() != 0) return Status::Ok();
  CountersRecord c;
  uint64_t next = 1;
  for (const auto& [id, v] : volumes_) next = std::max(next, id + 1);
  for (const auto& [id, p] : pending_) next = std::max(next, id + 1);
  c.set_next_volume_id(next);
  CatalogMutation m;
  m.PutCounters(c);
  return Commit(m);
}

Status VolumeCatalog::LoadPrefix(const std::string& prefix) {
  Status parse_error;
  Status scan = store_->ScanPrefix(prefix, [&](std::string_view key, std::string_view value) {
    parse_error = ApplyStored(key, value);
    return parse_error.ok();
  });
  RETURN_IF_ERROR(scan);
  return parse_error;
}

Status VolumeCatalog::ApplyStored(std::string_view key, std::string_view value) {
  switch (key[0]) {
    case 'v': {
      ASSIGN_OR_RETURN(auto r, Parse<VolumeRecord>(key, value));
      if (names_.count(r.name())) {
        return Status::Corruption(fmt::format("two volumes are named '{}' (ids {} and {})", r.name(),
                                              names_[r.name()], r.id()));
      }
      ApplyVolume(r);
      break;
    }
    case 's': {
      ASSIGN_OR_RETURN(auto r, Parse<SegmentRecord>(key, value));
      ApplySegment(r);
      break;
    }
    case 'b': {
      ASSIGN_OR_RETURN(auto r, Parse<BlockServerRecord>(key, value));
      servers_[r.server_id()] = r;
      break;
    }
    case 'p': {
      ASSIGN_OR_RETURN(auto r, Parse<PendingDeletionRecord>(key, value));
      pending_[r.volume_id()] = r;
      break;
    }
    case 'd': {
      ASSIGN_OR_RETURN(domain_, Parse<FailureDomainRecord>(key, value));
      break;
    }
    case 'n': {
      ASSIGN_OR_RETURN(counters_, Parse<CountersRecord>(key, value));
      break;
    }
    default:
      return Status::Corruption(fmt::format("unknown blockmanager key {}", key));
  }
  return Status::Ok();
}

// Volumes and their segments are only ever written in one batch, so any
// mismatch is damage to the store, not a state to serve.
Status VolumeCatalog::CheckSegments() const {
  std::map<uint64_t, uint32_t> counted;
  for (const auto& [key, seg] : segments_) {
    const VolumeRecord* v = FindVolume(key.first);
    if (v == nullptr) {
      return Status::Corruption(fmt::format("segment {} of volume {} belongs to no volume", key.second, key.first));
    }
    if (key.second >= v->segment_count()) {
      return Status::Corruption(fmt::format("segment {} of volume '{}' is beyond its {} segments", key.second,
                                            v->name(), v->segment_count()));
    }
    counted[key.first]++;
  }
  for (const auto& [id, v] : volumes_) {
    if (counted[id] != v.segment_count()) {
      return Status::Corruption(fmt::format("volume '{}' has {} of its {} segment records", v.name(), counted[id],
                                            v.segment_count()));
    }
  }
  return Status::Ok();
}

void VolumeCatalog::Encode(const CatalogMutation::Op& op, meta::WriteBatch* b) {
  std::visit(Overload{
                 [&](const VolumeRecord& r) { b->Put(VolumeKey(r.id()), Serialize(r)); },
                 [&](const CatalogMutation::DeleteVolumeOp& d) { b->Delete(VolumeKey(d.id)); },
                 [&](const SegmentRecord& r) {
                   b->Put(SegmentRecordKey({r.volume_id(), r.index()}), Serialize(r));
                 },
                 [&](const CatalogMutation::DeleteSegmentOp& d) { b->Delete(SegmentRecordKey(d.key)); },
                 [&](const BlockServerRecord& r) { b->Put(ServerKey(r.server_id()), Serialize(r)); },
                 [&](const PendingDeletionRecord& r) { b->Put(PendingKey(r.volume_id()), Serialize(r)); },
                 [&](const CatalogMutation::DeletePendingOp& d) { b->Delete(PendingKey(d.volume_id)); },
                 [&](const FailureDomainRecord& r) { b->Put(kDomainKey, Serialize(r)); },
                 [&](const CountersRecord& r) { b->Put(kCountersKey, Serialize(r)); },
             },
             op);
}

Status VolumeCatalog::Commit(const CatalogMutation& m) {
  if (m.empty()) return Status::Ok();
  meta::WriteBatch batch;
  for (const auto& op : m.ops()) Encode(op, &batch);
  RETURN_IF_ERROR(store_->Write(batch).WithContext("persist blockmanager metadata"));
  for (const auto& op : m.ops()) Apply(op);
  return Status::Ok();
}

void VolumeCatalog::Apply(const CatalogMutation::Op& op) {
  std::visit(Overload{
                 [&](const VolumeRecord& r) { ApplyVolume(r); },
                 [&](const CatalogMutation::DeleteVolumeOp& d) { ApplyDeleteVolume(d.id); },
                 [&](const SegmentRecord& r) { ApplySegment(r); },
                 [&](const CatalogMutation::DeleteSegmentOp& d) { ApplyDeleteSegment(d.key); },
                 [&](const BlockServerRecord& r) { servers_[r.server_id()] = r; },
                 [&](const PendingDeletionRecord& r) { pending_[r.volume_id()] = r; },
                 [&](const CatalogMutation::DeletePendingOp& d) { pending_.erase(d.volume_id); },
                 [&](const FailureDomainRecord& r) { domain_ = r; },
                 [&](const CountersRecord& r) { counters_ = r; },
             },
             op);
}

void VolumeCatalog::ApplyVolume(const VolumeRecord& r) {
  auto it = volumes_.find(r.id());
  if (it != volumes_.end()) names_.erase(it->second.name());
  volumes_[r.id()] = r;
  names_[r.name()] = r.id();
}

void VolumeCatalog::ApplyDeleteVolume(uint64_t id) {
  auto it = volumes_.find(id);
  if (it == volumes_.end()) return;
  names_.erase(it->second.name());
  volumes_.erase(it);
}

void VolumeCatalog::ApplySegment(const SegmentRecord& r) {
  SegmentKey key{r.volume_id(), r.index()};
  ApplyDeleteSegment(key);
  segments_[key] = r;
  owned_[r.owner_id()].insert(key);
}

void VolumeCatalog::ApplyDeleteSegment(SegmentKey key) {
  auto it = segments_.find(key);
  if (it == segments_.end()) return;
  auto owner = owned_.find(it->second.owner_id());
  if (owner != owned_.end()) {
    owner->second.erase(key);
    if (owner->second.empty()) owned_.erase(owner);
  }
  segments_.erase(it);
}

const VolumeRecord* VolumeCatalog::FindVolume(uint64_t id) const {
  auto it = volumes_.find(id);
  return it == volumes_.end() ? nullptr : &it->second;
}

const VolumeRecord* VolumeCatalog::FindVolumeByName(const std::string& name) const {
  auto it = names_.find(name);
  return it == names_.end() ? nullptr : FindVolume(it->second);
}

const SegmentRecord* VolumeCatalog::FindSegment(SegmentKey key) const {
  auto it = segments_.find(key);
  return it == segments_.end() ? nullptr : &it->second;
}

std::vector<const SegmentRecord*> VolumeCatalog::SegmentsOf(uint64_t volume_id) const {
  std::vector<const SegmentRecord*> out;
  for (auto it = segments_.lower_bound({volume_id, 0}); it != segments_.end() && it->first.first == volume_id; ++it) {
    out.push_back(&it->second);
  }
  return out;
}

const std::set<SegmentKey>& VolumeCatalog::SegmentsOwnedBy(const std::string& server_id) const {
  auto it = owned_.find(server_id);
  return it == owned_.end() ? kNoSegments : it->second;
}

std::vector<std::string> VolumeCatalog::Owners() const {
  std::vector<std::string> ids;
  for (const auto& [id, keys] : owned_) ids.push_back(id);
  return ids;
}

std::map<std::string, uint64_t> VolumeCatalog::OwnerLoad() const {
  std::map<std::string, uint64_t> load;
  for (const auto& [id, keys] : owned_) {
    if (!id.empty()) load[id] = keys.size();
  }
  return load;
}

}  // namespace strata::block::manager
