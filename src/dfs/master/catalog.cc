#include "dfs/master/catalog.h"

#include <fmt/format.h>

namespace strata::dfs::master {
namespace {

constexpr char kCountersKey[] = "n/counters";
const std::map<std::string, uint64_t> kNoChildren;
const std::set<uint64_t> kNoChunks;

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
    return Status::Corruption(fmt::format("metadata record {} does not parse", key));
  }
  return rec;
}

}  // namespace

std::string Catalog::InodeKey(uint64_t inode) { return fmt::format("i/{:016x}", inode); }
std::string Catalog::ChunkKey(uint64_t id) { return fmt::format("c/{:016x}", id); }
std::string Catalog::GcKey(uint64_t id) { return fmt::format("g/{:016x}", id); }
std::string Catalog::ServerKey(const std::string& id) { return "s/" + id; }

Status Catalog::Load(uint64_t now_wall_us, const std::string& new_cluster_id) {
  for (const char* prefix : {"i/", "c/", "g/", "s/", "n/"}) RETURN_IF_ERROR(LoadPrefix(prefix));
  // A cluster from before cluster ids gets one at its next start, as a new one does.
  if (FindInode(kRootInode) && !counters_.cluster_id().empty()) return Status::Ok();
  Mutation m;
  if (!FindInode(kRootInode)) {
    InodeRecord root;
    root.set_inode(kRootInode);
    root.set_is_dir(true);
    root.set_mtime_us(now_wall_us);
    m.PutInode(root);
  }
  CountersRecord c = counters_;
  if (c.next_inode() <= kRootInode) c.set_next_inode(kRootInode + 1);
  if (c.next_chunk_id() == 0) c.set_next_chunk_id(1);
  if (c.cluster_id().empty()) c.set_cluster_id(new_cluster_id);
  m.PutCounters(c);
  return Commit(m);
}

Status Catalog::LoadPrefix(const std::string& prefix) {
  Status parse_error;
  Status scan = store_->ScanPrefix(prefix, [&](std::string_view key, std::string_view value) {
    parse_error = ApplyStored(key, value);
    return parse_error.ok();
  });
  RETURN_IF_ERROR(scan);
  return parse_error;
}

Status Catalog::ApplyStored(std::string_view key, std::string_view value) {
  switch (key[0]) {
    case 'i': {
      ASSIGN_OR_RETURN(auto r, Parse<InodeRecord>(key, value));
      ApplyInode(r);
      break;
    }
    case 'c': {
      ASSIGN_OR_RETURN(auto r, Parse<ChunkRecord>(key, value));
      ApplyChunk(r);
      break;
    }
    case 'g': {
      ASSIGN_OR_RETURN(auto r, Parse<GcRecord>(key, value));
      gc_[r.chunk_id()] = r;
      break;
    }
    case 's': {
      ASSIGN_OR_RETURN(auto r, Parse<ServerRecord>(key, value));
      servers_[r.server_id()] = r;
      break;
    }
    case 'n': {
      ASSIGN_OR_RETURN(counters_, Parse<CountersRecord>(key, value));
      break;
    }
    default:
      return Status::Corruption(fmt::format("unknown metadata key {}", key));
  }
  return Status::Ok();
}

void Catalog::Encode(const Mutation::Op& op, meta::WriteBatch* b) {
  std::visit(Overload{
                 [&](const InodeRecord& r) { b->Put(InodeKey(r.inode()), Serialize(r)); },
                 [&](const Mutation::DeleteInodeOp& d) { b->Delete(InodeKey(d.inode)); },
                 [&](const ChunkRecord& r) { b->Put(ChunkKey(r.chunk_id()), Serialize(r)); },
                 [&](const Mutation::DeleteChunkOp& d) { b->Delete(ChunkKey(d.chunk_id)); },
                 [&](const GcRecord& r) { b->Put(GcKey(r.chunk_id()), Serialize(r)); },
                 [&](const Mutation::DeleteGcOp& d) { b->Delete(GcKey(d.chunk_id)); },
                 [&](const ServerRecord& r) { b->Put(ServerKey(r.server_id()), Serialize(r)); },
                 [&](const CountersRecord& r) { b->Put(kCountersKey, Serialize(r)); },
             },
             op);
}

Status Catalog::Commit(const Mutation& m) {
  if (m.empty()) return Status::Ok();
  meta::WriteBatch batch;
  for (const auto& op : m.ops()) Encode(op, &batch);
  RETURN_IF_ERROR(store_->Write(batch).WithContext("persist master metadata"));
  for (const auto& op : m.ops()) Apply(op);
  return Status::Ok();
}

void Catalog::Apply(const Mutation::Op& op) {
  std::visit(Overload{
                 [&](const InodeRecord& r) { ApplyInode(r); },
                 [&](const Mutation::DeleteInodeOp& d) { ApplyDeleteInode(d.inode); },
                 [&](const ChunkRecord& r) { ApplyChunk(r); },
                 [&](const Mutation::DeleteChunkOp& d) { ApplyDeleteChunk(d.chunk_id); },
                 [&](const GcRecord& r) { gc_[r.chunk_id()] = r; },
                 [&](const Mutation::DeleteGcOp& d) { gc_.erase(d.chunk_id); },
                 [&](const ServerRecord& r) { servers_[r.server_id()] = r; },
                 [&](const CountersRecord& r) { counters_ = r; },
             },
             op);
}

void Catalog::ApplyInode(const InodeRecord& r) {
  auto it = inodes_.find(r.inode());
  if (it != inodes_.end()) {
    auto& siblings = children_[it->second.parent()];
    auto entry = siblings.find(it->second.name());
    if (entry != siblings.end() && entry->second == r.inode()) siblings.erase(entry);
  } else {
    (r.is_dir() ? dir_count_ : file_count_)++;
  }
  inodes_[r.inode()] = r;
  if (r.inode() != kRootInode) children_[r.parent()][r.name()] = r.inode();
}

void Catalog::ApplyDeleteInode(uint64_t inode) {
  auto it = inodes_.find(inode);
  if (it == inodes_.end()) return;
  auto parent = children_.find(it->second.parent());
  if (parent != children_.end()) {
    parent->second.erase(it->second.name());
    if (parent->second.empty()) children_.erase(parent);
  }
  (it->second.is_dir() ? dir_count_ : file_count_)--;
  children_.erase(inode);
  inodes_.erase(it);
}

void Catalog::ApplyChunk(const ChunkRecord& r) {
  auto it = chunks_.find(r.chunk_id());
  if (it != chunks_.end()) IndexReplicas(it->second, false);
  chunks_[r.chunk_id()] = r;
  IndexReplicas(r, true);
}

void Catalog::ApplyDeleteChunk(uint64_t id) {
  auto it = chunks_.find(id);
  if (it == chunks_.end()) return;
  IndexReplicas(it->second, false);
  chunks_.erase(it);
}

void Catalog::IndexReplicas(const ChunkRecord& r, bool add) {
  for (const auto& rep : r.replicas()) {
    if (add) {
      server_chunks_[rep.server_id()].insert(r.chunk_id());
      continue;
    }
    auto it = server_chunks_.find(rep.server_id());
    if (it == server_chunks_.end()) continue;
    it->second.erase(r.chunk_id());
    if (it->second.empty()) server_chunks_.erase(it);
  }
}

const InodeRecord* Catalog::FindInode(uint64_t inode) const {
  auto it = inodes_.find(inode);
  return it == inodes_.end() ? nullptr : &it->second;
}

const std::map<std::string, uint64_t>& Catalog::Children(uint64_t dir) const {
  auto it = children_.find(dir);
  return it == children_.end() ? kNoChildren : it->second;
}

const ChunkRecord* Catalog::FindChunk(uint64_t id) const {
  auto it = chunks_.find(id);
  return it == chunks_.end() ? nullptr : &it->second;
}

const std::set<uint64_t>& Catalog::ChunksOn(const std::string& server_id) const {
  auto it = server_chunks_.find(server_id);
  return it == server_chunks_.end() ? kNoChunks : it->second;
}

}  // namespace strata::dfs::master
