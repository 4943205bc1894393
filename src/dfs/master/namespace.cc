#include "dfs/master/namespace.h"

#include <algorithm>

#include "dfs/master/gc.h"

namespace strata::dfs::master {

Namespace::Namespace(Catalog* catalog, const Clock* clock, const MasterOptions& options)
    : catalog_(catalog), clock_(clock), options_(options) {}

Result<uint64_t> Namespace::Walk(const std::vector<std::string>& parts, size_t count) const {
  uint64_t cur = kRootInode;
  for (size_t i = 0; i < count; ++i) {
    const InodeRecord* rec = catalog_->FindInode(cur);
    if (!rec || !rec->is_dir()) {
      return Status::FailedPrecondition(JoinPath({parts.begin(), parts.begin() + i}) + " is not a directory");
    }
    const auto& children = catalog_->Children(cur);
    auto it = children.find(parts[i]);
    if (it == children.end()) {
      return Status::NotFound(JoinPath({parts.begin(), parts.begin() + i + 1}) + ": no such file or directory");
    }
    cur = it->second;
  }
  return cur;
}

namespace {
// "/a/b/": a trailing slash names a directory, as in POSIX.
bool NamesADirectory(std::string_view path) { return path.size() > 1 && path.back() == '/'; }
}  // namespace

Result<uint64_t> Namespace::Lookup(std::string_view path) const {
  ASSIGN_OR_RETURN(auto parts, SplitPath(path, limits()));
  ASSIGN_OR_RETURN(uint64_t inode, Walk(parts, parts.size()));
  if (NamesADirectory(path) && !catalog_->FindInode(inode)->is_dir()) {
    return Status::FailedPrecondition(std::string(path) + ": not a directory");
  }
  return inode;
}

Result<Namespace::Parent> Namespace::ResolveParent(std::string_view path) const {
  ASSIGN_OR_RETURN(auto parts, SplitPath(path, limits()));
  if (parts.empty()) return Status::InvalidArgument("the root directory cannot be the target");
  ASSIGN_OR_RETURN(uint64_t dir, Walk(parts, parts.size() - 1));
  if (!catalog_->FindInode(dir)->is_dir()) {
    return Status::FailedPrecondition(JoinPath({parts.begin(), parts.end() - 1}) + " is not a directory");
  }
  return Parent{dir, parts.back()};
}

Result<InodeRecord> Namespace::Stat(std::string_view path) const {
  ASSIGN_OR_RETURN(uint64_t inode, Lookup(path));
  return *catalog_->FindInode(inode);
}

Result<std::vector<InodeRecord>> Namespace::List(std::string_view path) const {
  ASSIGN_OR_RETURN(uint64_t inode, Lookup(path));
  const InodeRecord* rec = catalog_->FindInode(inode);
  if (!rec->is_dir()) return std::vector<InodeRecord>{*rec};
  const auto& children = catalog_->Children(inode);
  if (children.size() > options_.list_entries_max) {
    return Status::ResourceExhausted(std::string(path) + " has more than " +
                                     std::to_string(options_.list_entries_max) + " entries");
  }
  std::vector<InodeRecord> out;
  out.reserve(children.size());
  for (const auto& [name, child] : children) out.push_back(*catalog_->FindInode(child));
  return out;
}

std::string Namespace::PathOf(uint64_t inode) const {
  std::vector<std::string> parts;
  for (const InodeRecord* rec = catalog_->FindInode(inode); rec && rec->inode() != kRootInode;
       rec = catalog_->FindInode(rec->parent())) {
    parts.push_back(rec->name());
    if (parts.size() > options_.path_bytes_max) break;  // a cycle would be a bug; stay bounded
  }
  std::reverse(parts.begin(), parts.end());
  return JoinPath(parts);
}

uint64_t Namespace::NextInode(CountersRecord* counters) const {
  uint64_t id = counters->next_inode();
  counters->set_next_inode(id + 1);
  return id;
}

void Namespace::Touch(uint64_t dir, Mutation* m) const {
  InodeRecord rec = *catalog_->FindInode(dir);
  rec.set_mtime_us(clock_->WallMicros());
  m->PutInode(rec);
}

Status Namespace::Mkdir(std::string_view path, bool parents) {
  ASSIGN_OR_RETURN(auto parts, SplitPath(path, limits()));
  if (parts.empty()) return parents ? Status::Ok() : Status::AlreadyExists("/ exists");
  Mutation m;
  CountersRecord counters = catalog_->counters();
  uint64_t cur = kRootInode;
  bool created = false;
  for (size_t i = 0; i < parts.size(); ++i) {
    bool last = i + 1 == parts.size();
    const auto& children = catalog_->Children(cur);
    auto it = created ? children.end() : children.find(parts[i]);
    if (it != children.end()) {
      if (!catalog_->FindInode(it->second)->is_dir()) {
        std::string at = JoinPath({parts.begin(), parts.begin() + i + 1});
        if (last) return Status::AlreadyExists(at + " exists (a file)");
        return Status::FailedPrecondition(at + " is not a directory");
      }
      if (last && !parents) return Status::AlreadyExists(std::string(path) + " exists");
      cur = it->second;
      continue;
    }
    if (!last && !parents) {
      return Status::NotFound(JoinPath({parts.begin(), parts.begin() + i + 1}) + ": no such directory");
    }
    if (!created) Touch(cur, &m);
    InodeRecord dir;
    dir.set_inode(NextInode(&counters));
    dir.set_parent(cur);
    dir.set_name(parts[i]);
    dir.set_is_dir(true);
    dir.set_mtime_us(clock_->WallMicros());
    m.PutInode(dir);
    cur = dir.inode();
    created = true;
  }
  if (!created) return Status::Ok();
  m.PutCounters(counters);
  return catalog_->Commit(m);
}

Status Namespace::ValidateCreate(const CreateArgs& a, InodeRecord* rec) const {
  uint32_t r = a.replication ? a.replication : options_.default_replication;
  if (r > options_.replication_max) {
    return Status::InvalidArgument("replication " + std::to_string(r) + " is over the limit of " +
                                   std::to_string(options_.replication_max));
  }
  uint32_t min_copies = a.min_copies;
  if (min_copies == 0) min_copies = std::min(r, std::max(options_.default_min_copies, r / 2 + 1));
  if (min_copies > r) return Status::InvalidArgument("min_copies must not exceed replication");
  uint64_t chunk_size = a.chunk_size ? a.chunk_size : options_.default_chunk_size_bytes;
  if (chunk_size < options_.chunk_size_min_bytes || chunk_size > options_.chunk_size_max_bytes) {
    return Status::InvalidArgument("chunk_size " + std::to_string(chunk_size) + " is outside [" +
                                   std::to_string(options_.chunk_size_min_bytes) + ", " +
                                   std::to_string(options_.chunk_size_max_bytes) + "]");
  }
  if (a.durability > 1) return Status::InvalidArgument("unknown durability mode");
  rec->set_replication(r);
  rec->set_min_copies(min_copies);
  rec->set_chunk_size(chunk_size);
  rec->set_durability(a.durability);
  return Status::Ok();
}

Result<InodeRecord> Namespace::Create(const CreateArgs& args) {
  if (NamesADirectory(args.path)) return Status::InvalidArgument("a file's path cannot end with '/': " + args.path);
  ASSIGN_OR_RETURN(Parent parent, ResolveParent(args.path));
  InodeRecord rec;
  RETURN_IF_ERROR(ValidateCreate(args, &rec));
  Mutation m;
  const auto& children = catalog_->Children(parent.dir);
  auto existing = children.find(parent.name);
  if (existing != children.end()) {
    const InodeRecord* old = catalog_->FindInode(existing->second);
    if (old->is_dir()) return Status::AlreadyExists(args.path + " is a directory");
    if (!args.overwrite) return Status::AlreadyExists(args.path + " exists");
    RetireChunks(*catalog_, {old->chunks().begin(), old->chunks().end()}, &m);
    m.DeleteInode(old->inode());
  }
  CountersRecord counters = catalog_->counters();
  rec.set_inode(NextInode(&counters));
  rec.set_parent(parent.dir);
  rec.set_name(parent.name);
  rec.set_mtime_us(clock_->WallMicros());
  rec.set_temporary(args.temporary);
  m.PutCounters(counters);
  Touch(parent.dir, &m);
  m.PutInode(rec);
  RETURN_IF_ERROR(catalog_->Commit(m));
  return rec;
}

bool Namespace::IsAncestor(uint64_t ancestor, uint64_t inode) const {
  for (const InodeRecord* rec = catalog_->FindInode(inode); rec; rec = catalog_->FindInode(rec->parent())) {
    if (rec->inode() == ancestor) return true;
    if (rec->inode() == kRootInode) break;
  }
  return false;
}

Status Namespace::Rename(std::string_view from, std::string_view to, bool replace) {
  ASSIGN_OR_RETURN(Parent src_parent, ResolveParent(from));
  ASSIGN_OR_RETURN(uint64_t src, Lookup(from));
  ASSIGN_OR_RETURN(Parent dst, ResolveParent(to));
  InodeRecord rec = *catalog_->FindInode(src);
  if (NamesADirectory(to) && !rec.is_dir()) {
    return Status::FailedPrecondition(std::string(to) + ": a file cannot be renamed to a directory path");
  }
  if (rec.is_dir() && IsAncestor(src, dst.dir)) {
    return Status::InvalidArgument("cannot move " + std::string(from) + " under itself (" + std::string(to) + ")");
  }
  Mutation m;
  const auto& children = catalog_->Children(dst.dir);
  auto existing = children.find(dst.name);
  if (existing != children.end()) {
    if (existing->second == src) return Status::Ok();
    const InodeRecord* old = catalog_->FindInode(existing->second);
    if (old->is_dir() || rec.is_dir() || !replace) return Status::AlreadyExists(std::string(to) + " exists");
    RetireChunks(*catalog_, {old->chunks().begin(), old->chunks().end()}, &m);
    m.DeleteInode(old->inode());
  }
  Touch(src_parent.dir, &m);
  if (dst.dir != src_parent.dir) Touch(dst.dir, &m);
  rec.set_parent(dst.dir);
  rec.set_name(dst.name);
  rec.set_temporary(false);
  m.PutInode(rec);
  return catalog_->Commit(m);
}

void Namespace::RemoveSubtree(uint64_t inode, Mutation* m) const {
  // Iterative walk: directory depth is bounded only by path_bytes_max.
  std::vector<uint64_t> stack{inode};
  while (!stack.empty()) {
    uint64_t cur = stack.back();
    stack.pop_back();
    const InodeRecord* rec = catalog_->FindInode(cur);
    if (!rec) continue;
    for (const auto& [name, child] : catalog_->Children(cur)) stack.push_back(child);
    RetireChunks(*catalog_, {rec->chunks().begin(), rec->chunks().end()}, m);
    m->DeleteInode(cur);
  }
}

Status Namespace::Delete(std::string_view path, bool recursive) {
  ASSIGN_OR_RETURN(Parent parent, ResolveParent(path));
  ASSIGN_OR_RETURN(uint64_t inode, Lookup(path));
  const InodeRecord* rec = catalog_->FindInode(inode);
  if (rec->is_dir() && !recursive && !catalog_->Children(inode).empty()) {
    return Status::FailedPrecondition(std::string(path) + " is a non-empty directory");
  }
  Mutation m;
  RemoveSubtree(inode, &m);
  Touch(parent.dir, &m);
  return catalog_->Commit(m);
}

Result<InodeRecord> Namespace::OpenWrite(std::string_view path) {
  ASSIGN_OR_RETURN(uint64_t inode, Lookup(path));
  InodeRecord rec = *catalog_->FindInode(inode);
  if (rec.is_dir()) return Status::FailedPrecondition(std::string(path) + " is a directory");
  rec.set_writer_epoch(rec.writer_epoch() + 1);
  rec.set_write_open(true);
  rec.set_mtime_us(clock_->WallMicros());
  Mutation m;
  m.PutInode(rec);
  RETURN_IF_ERROR(catalog_->Commit(m));
  return rec;
}

Result<InodeRecord> Namespace::CheckWriter(std::string_view path, uint64_t epoch) const {
  ASSIGN_OR_RETURN(uint64_t inode, Lookup(path));
  const InodeRecord* rec = catalog_->FindInode(inode);
  if (rec->is_dir()) return Status::FailedPrecondition(std::string(path) + " is a directory");
  if (epoch != rec->writer_epoch()) {
    return Status::StaleEpoch("writer epoch " + std::to_string(epoch) + " of " + std::string(path) +
                              " is not the current one (" + std::to_string(rec->writer_epoch()) + ")");
  }
  if (!rec->write_open()) return Status::StaleEpoch("the writer of " + std::string(path) + " has closed");
  return *rec;
}

Status Namespace::CloseWrite(std::string_view path, uint64_t epoch) {
  ASSIGN_OR_RETURN(InodeRecord rec, CheckWriter(path, epoch));
  rec.set_write_open(false);
  rec.set_mtime_us(clock_->WallMicros());
  Mutation m;
  m.PutInode(rec);
  return catalog_->Commit(m);
}

}  // namespace strata::dfs::master
