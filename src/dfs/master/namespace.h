// Namespace: directories and files of the dfs, over the Catalog.
//
// Inodes form a tree (InodeRecord.parent/name); each file lists its chunk
// ids in order. Every operation validates the path (path.h) and the tree,
// then commits one atomic Mutation, so a crash leaves either the old or the
// new namespace. Deleting or overwriting files retires their chunks for lazy
// garbage collection (gc.h) in that same mutation.
//
// Writers: a file has a writer epoch. OpenWrite bumps it (a new writer takes
// over and fences any older one); CheckWriter rejects a request whose epoch
// is not the current one with StaleEpoch.
//
// Thread-safety: not thread-safe; the master service serializes access.
// Ownership: borrows the catalog and the clock.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "dfs/master/catalog.h"
#include "dfs/master/master_options.h"
#include "dfs/master/path.h"
#include "env/clock.h"

namespace strata::dfs::master {

struct CreateArgs {
  std::string path;
  uint32_t replication = 0;  // 0: defaults
  uint32_t min_copies = 0;
  uint64_t chunk_size = 0;
  uint32_t durability = 0;
  bool overwrite = false;
  bool temporary = false;  // InodeRecord.temporary
};

class Namespace {
 public:
  Namespace(Catalog* catalog, const Clock* clock, const MasterOptions& options);

  // The inode at `path`; NotFound, or InvalidArgument for a malformed path.
  Result<uint64_t> Lookup(std::string_view path) const;
  Result<InodeRecord> Stat(std::string_view path) const;
  // The entries of a directory by name, or the file itself.
  Result<std::vector<InodeRecord>> List(std::string_view path) const;
  std::string PathOf(uint64_t inode) const;

  Status Mkdir(std::string_view path, bool parents);
  Result<InodeRecord> Create(const CreateArgs& args);
  // A file replaces a file only with `replace` (else AlreadyExists); nothing
  // replaces a directory; a directory cannot move under itself. A renamed
  // temporary file becomes an ordinary one.
  Status Rename(std::string_view from, std::string_view to, bool replace);
  Status Delete(std::string_view path, bool recursive);

  Result<InodeRecord> OpenWrite(std::string_view path);
  // The file if `epoch` is its current writer epoch and the writer is open.
  Result<InodeRecord> CheckWriter(std::string_view path, uint64_t epoch) const;
  Status CloseWrite(std::string_view path, uint64_t epoch);

 private:
  struct Parent {
    uint64_t dir;
    std::string name;
  };
  PathLimits limits() const { return {options_.path_bytes_max, options_.name_bytes_max}; }
  // The directory that would hold `path` (which must not be the root).
  Result<Parent> ResolveParent(std::string_view path) const;
  Result<uint64_t> Walk(const std::vector<std::string>& parts, size_t count) const;
  Status ValidateCreate(const CreateArgs& args, InodeRecord* rec) const;
  uint64_t NextInode(CountersRecord* counters) const;
  void RemoveSubtree(uint64_t inode, Mutation* m) const;
  bool IsAncestor(uint64_t ancestor, uint64_t inode) const;
  void Touch(uint64_t dir, Mutation* m) const;

  Catalog* catalog_;
  const Clock* clock_;
  MasterOptions options_;
};

}  // namespace strata::dfs::master
