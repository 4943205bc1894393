// strata fs: mkdir, put, get, cat, ls, stat, rm, mv against the dfs.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <vector>

#include "cli/admin_options.h"
#include "cli/commands.h"
#include "common/malloc_tuning.h"
#include "cli/progress_bar.h"
#include "common/config.h"
#include "dfs/client/file_reader.h"
#include "dfs/client/file_writer.h"
#include "env/random.h"

namespace strata::cli {
namespace {

constexpr size_t kTransferPieceBytes = 4u << 20;

struct FsArgs {
  AdminOptions admin;
  std::string path, path2;
  std::vector<std::string> paths;  // commands that take several (cat, rm)
  bool parents = false, recursive = false, long_format = false, overwrite = false;
  uint32_t replication = 0, min_copies = 0;
  std::string chunk_size, durability = "sync";
  std::string append_size = "4M";
  std::string window = "16M";
};

// Runs `fn` with a connected client and turns its Status into an exit code.
// With --json, a command that prints nothing of its own (`action` set)
// prints {"ok": true, "action": ..., "path": ...} on success.
int WithClient(const FsArgs& a, const std::function<Status(dfs::DfsClient&)>& fn, const char* action = nullptr) {
  KeepLargeBuffersInHeap();  // put/get move chunk-sized buffers
  auto client = ConnectDfs(a.admin);
  if (!client.ok()) return ReportError(client.status(), a.admin.json);
  Status st = fn(**client);
  if (!st.ok()) return ReportError(st, a.admin.json);
  if (a.admin.json && action != nullptr) {
    nlohmann::json out = {{"ok", true}, {"action", action}};
    if (a.paths.empty()) out["path"] = a.path;
    else out["paths"] = a.paths;
    if (!a.path2.empty()) out["to"] = a.path2;
    std::cout << out.dump() << "\n";
  }
  return 0;
}

// Set by SIGINT/SIGTERM while a put runs: the put stops and removes what it
// wrote (a second signal kills at once: the handler resets itself).
std::atomic<bool> put_interrupted{false};
extern "C" void OnPutSignal(int) { put_interrupted = true; }

class PutSignalGuard {
 public:
  PutSignalGuard() {
    struct sigaction sa {};
    sa.sa_handler = OnPutSignal;
    sa.sa_flags = SA_RESETHAND;  // no SA_RESTART: a blocked read returns EINTR
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
  }
  ~PutSignalGuard() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

// Reads up to `size` bytes, fewer only at the end of the input. Waits for a
// pipe in slices, so that an interrupt is noticed even when the signal went
// to another thread.
Result<size_t> ReadPiece(int fd, bool regular, char* buf, size_t size, const std::string& name) {
  size_t filled = 0;
  while (filled < size) {
    if (put_interrupted) return Status::Aborted("interrupted");
    if (!regular) {
      pollfd p{fd, POLLIN, 0};
      int r = ::poll(&p, 1, 200);
      if (r == 0 || (r < 0 && errno == EINTR)) continue;
    }
    ssize_t n = ::read(fd, buf + filled, size - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "read " + name);
    if (n == 0) break;
    filled += static_cast<size_t>(n);
  }
  return filled;
}

// Copies `fd` into the new file `remote` (which it creates; `created` tells
// whether it did), showing progress as `label`.
Status WriteNewFile(dfs::DfsClient& c, const FsArgs& a, int fd, bool regular, uint64_t total,
                    const std::string& remote, const dfs::CreateOptions& co, uint64_t piece_bytes,
                    uint64_t window, const std::string& label, bool* created) {
  RETURN_IF_ERROR(c.Create(remote, co).status());
  *created = true;
  ASSIGN_OR_RETURN(auto writer, c.OpenWriter(remote));
  writer->SetWindow(window);
  ProgressBar bar("put " + label, total);
  std::string buf(piece_bytes, '\0');
  for (;;) {
    ASSIGN_OR_RETURN(size_t filled, ReadPiece(fd, regular, buf.data(), buf.size(), a.path));
    if (filled == 0) break;
    RETURN_IF_ERROR(writer->Append(std::string_view(buf.data(), filled)));
    bar.Update(writer->size());  // acknowledged bytes
    if (filled < buf.size()) break;
  }
  RETURN_IF_ERROR(writer->Close());
  if (put_interrupted) return Status::Aborted("interrupted");
  bar.Update(writer->size());
  bar.Finish();
  return Status::Ok();
}

// Where `path` goes inside directory `dir` ("/d/", "f" or "/x/f" -> "/d/f"),
// as cp and mv put a file named after a directory.
std::string IntoDirectory(std::string dir, std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir + (dir == "/" ? "" : "/") + path.substr(path.find_last_of('/') + 1);
}

// The name a put writes under before it renames the file into place: hidden,
// in the same directory, unique.
std::string TemporaryName(const std::string& remote) {
  size_t slash = remote.find_last_of('/');
  std::string dir = remote.substr(0, slash + 1), name = remote.substr(slash + 1);
  char suffix[24];
  std::snprintf(suffix, sizeof suffix, ".put-%08x", static_cast<unsigned>(Random(RandomSeedFromOs()).Next64()));
  return dir + "." + name.substr(0, 200) + suffix;
}

// A put is all or nothing: the data goes to a temporary file that is
// renamed over `remote` only once it is complete and closed, so a failed or
// interrupted put leaves no partial file and never harms the file it was
// to replace; without -f, an existing file is never replaced.
Status Put(dfs::DfsClient& c, const FsArgs& a) {
  dfs::CreateOptions co;
  co.replication = a.replication;
  co.min_copies = a.min_copies;
  if (!a.chunk_size.empty()) {
    ASSIGN_OR_RETURN(co.chunk_size, ParseByteSize(a.chunk_size));
  }
  ASSIGN_OR_RETURN(co.durability, ParseDurability(a.durability));
  ASSIGN_OR_RETURN(uint64_t piece_bytes, ParseByteSize(a.append_size));
  if (piece_bytes == 0 || piece_bytes > (64u << 20)) return Status::InvalidArgument("--append-size must be 1..64M");
  ASSIGN_OR_RETURN(uint64_t window, ParseByteSize(a.window));
  // Into a directory (an existing one, or a path ending in '/') under the
  // local file's name, like cp.
  std::string target = a.path2;
  auto existing = c.Stat(target);
  if ((!target.empty() && target.back() == '/') || (existing.ok() && existing->info().is_dir())) {
    if (a.path == "-" || a.path.empty() || a.path.back() == '/') {
      return Status::InvalidArgument("name the remote file: " + a.path2 + " is a directory");
    }
    target = IntoDirectory(target, a.path);
    existing = c.Stat(target);
  }
  int fd = a.path == "-" ? STDIN_FILENO : ::open(a.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + a.path);
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument(a.path + " is a directory");
  }
  bool regular = S_ISREG(st.st_mode);
  uint64_t total = regular ? static_cast<uint64_t>(st.st_size) : 0;
  if (existing.ok() && (existing->info().is_dir() || !a.overwrite)) {
    if (fd != STDIN_FILENO) ::close(fd);
    return Status::AlreadyExists(target + (existing->info().is_dir() ? " is a directory" : " exists (use -f to replace it)"));
  }
  std::string temp = TemporaryName(target);
  co.temporary = true;  // removed by the master if this process dies before the rename
  put_interrupted = false;
  Status written;
  bool created = false;
  {
    PutSignalGuard guard;
    written = WriteNewFile(c, a, fd, regular, total, temp, co, piece_bytes, window, target, &created);
    if (written.ok()) written = c.Rename(temp, target, a.overwrite);
  }
  if (fd != STDIN_FILENO) ::close(fd);
  if (!written.ok() && created) {
    Status removed = c.Delete(temp, false);
    if (!removed.ok() && removed.code() != StatusCode::kNotFound) {
      std::cerr << "warning: could not remove the partial upload " << temp << " (the master removes it once its "
                << "writer's lease runs out): " << removed.ToString() << "\n";
    }
  }
  return written;
}

// mv FROM TO: into TO when TO is a directory (or ends in '/'), as mv(1).
Status Mv(dfs::DfsClient& c, const FsArgs& a) {
  std::string to = a.path2;
  auto target = c.Stat(to);
  bool into = (!to.empty() && to.back() == '/') || (target.ok() && target->info().is_dir());
  if (into && a.path != "/") to = IntoDirectory(to, a.path);
  return c.Rename(a.path, to, a.overwrite);
}

Status Get(dfs::DfsClient& c, const std::string& remote, const std::string& local, bool show_progress) {
  ASSIGN_OR_RETURN(auto reader, c.OpenReader(remote));
  int fd = local == "-" ? STDOUT_FILENO : ::open(local.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, "open " + local);
  ProgressBar bar("get " + remote, show_progress ? reader->size() : 0);
  std::vector<char> buf(kTransferPieceBytes);
  uint64_t off = 0;
  while (off < reader->size()) {
    ASSIGN_OR_RETURN(size_t n, reader->ReadAt(off, buf.data(), buf.size()));
    if (n == 0) break;
    size_t w = 0;
    while (w < n) {
      ssize_t r = ::write(fd, buf.data() + w, n - w);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Status::FromErrno(errno, "write " + local);
      w += static_cast<size_t>(r);
    }
    off += n;
    if (show_progress) bar.Update(off);
  }
  if (fd != STDOUT_FILENO && ::close(fd) != 0) return Status::FromErrno(errno, "close " + local);
  if (off != reader->size()) return Status::IoError("short read: " + std::to_string(off) + " bytes");
  if (reader->corruptions_detected()) {
    std::cerr << "warning: " << reader->corruptions_detected()
              << " corrupt replica(s) found and reported; data was read from good replicas\n";
  }
  return Status::Ok();
}

std::string FormatTime(uint64_t mtime_us) {
  std::time_t t = static_cast<std::time_t>(mtime_us / 1000000);
  char buf[32];
  std::tm tm {};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M", &tm);
  return buf;
}

Status Ls(dfs::DfsClient& c, const FsArgs& a) {
  ASSIGN_OR_RETURN(auto entries, c.List(a.path));
  if (a.admin.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : entries) out.push_back(FileInfoToJson(e));
    std::cout << out.dump(2) << "\n";
    return Status::Ok();
  }
  for (const auto& e : entries) {
    std::string name = e.path().substr(e.path().rfind('/') + 1);
    if (e.is_dir()) name += "/";
    if (!a.long_format) {
      std::cout << name << "\n";
      continue;
    }
    char line[512];
    if (e.is_dir()) {  // no size, replicas or chunks of its own
      std::snprintf(line, sizeof(line), "d %12s  %2s  %5s %-6s  %s  %s", "-", "-", "-", "", FormatTime(e.mtime_us()).c_str(),
                    name.c_str());
    } else {
      std::snprintf(line, sizeof(line), "- %12llu  r%u  %5u chunks  %s  %s", static_cast<unsigned long long>(e.size()),
                    e.replication(), e.chunk_count(), FormatTime(e.mtime_us()).c_str(), name.c_str());
    }
    std::cout << line << "\n";
  }
  return Status::Ok();
}

Status Stat(dfs::DfsClient& c, const FsArgs& a) {
  ASSIGN_OR_RETURN(auto st, c.Stat(a.path));
  if (a.admin.json) {
    nlohmann::json out = FileInfoToJson(st.info());
    out["chunk_list"] = nlohmann::json::array();
    for (const auto& ch : st.chunks()) out["chunk_list"].push_back(ChunkInfoToJson(ch));
    std::cout << out.dump(2) << "\n";
    return Status::Ok();
  }
  const auto& i = st.info();
  std::cout << "path:        " << i.path() << "\n"
            << "type:        " << (i.is_dir() ? "directory" : "file") << "\n";
  if (i.is_dir()) return Status::Ok();
  std::cout << "size:        " << i.size() << " (" << HumanBytes(i.size()) << ")\n"
            << "replication: " << i.replication() << " (ack at " << i.min_copies() << ")\n"
            << "durability:  " << (i.durability() == dfs::DURABILITY_MEMORY ? "memory" : "sync") << "\n"
            << "chunk size:  " << HumanBytes(i.chunk_size()) << "\n"
            << "modified:    " << FormatTime(i.mtime_us()) << " UTC\n"
            << "chunks:      " << st.chunks_size() << "\n";
  for (const auto& ch : st.chunks()) {
    std::cout << "  chunk " << ch.chunk_id() << "  offset " << ch.file_offset() << "  length " << ch.length()
              << (ch.sealed() ? "  sealed" : "  open") << "\n";
    for (const auto& r : ch.replicas()) {
      std::cout << "    " << r.server_id() << "  " << r.addr() << "  rack " << r.rack() << "  disk " << r.disk()
                << "\n";
    }
  }
  return Status::Ok();
}

}  // namespace

void RegisterFsCommand(CLI::App& app, int* exit_code) {
  auto* fs = app.add_subcommand("fs", "Files in the distributed file system");
  fs->require_subcommand(1);
  auto args = std::make_shared<FsArgs>();

  auto* mkdir = fs->add_subcommand("mkdir", "Create a directory");
  AddAdminOptions(mkdir, &args->admin);
  mkdir->add_option("path", args->path)->required();
  mkdir->add_flag("-p,--parents", args->parents, "Create missing parents; no error if it exists");
  mkdir->callback([=] { *exit_code = WithClient(*args, [&](dfs::DfsClient& c) { return c.Mkdir(args->path, args->parents); }, "mkdir"); });

  auto* put = fs->add_subcommand("put", "Copy a local file (or - for stdin) into the dfs");
  AddAdminOptions(put, &args->admin);
  put->add_option("local", args->path)->required();
  put->add_option("remote", args->path2)->required();
  put->add_option("--replication", args->replication, "Replicas per chunk (default: the master's, 3)");
  put->add_option("--min-copies", args->min_copies, "Replicas that must have an append before it is acknowledged");
  put->add_option("--chunk-size", args->chunk_size, "Chunk size, e.g. 64M (default: the master's)");
  put->add_option("--durability", args->durability, "sync (fdatasync before ack) or memory");
  put->add_option("--append-size", args->append_size, "Bytes per append (default 4M)");
  put->add_option("--window", args->window,
                  "Bytes sent ahead of their acknowledgement (default 16M; 0: one append at a time)");
  put->add_flag("-f,--overwrite", args->overwrite, "Replace an existing file");
  put->callback([=] { *exit_code = WithClient(*args, [&](dfs::DfsClient& c) { return Put(c, *args); }, "put"); });

  auto* get = fs->add_subcommand("get", "Copy a dfs file to a local file (or - for stdout)");
  AddAdminOptions(get, &args->admin);
  get->add_option("remote", args->path)->required();
  get->add_option("local", args->path2)->required();
  get->callback([=] {
    *exit_code = WithClient(*args, [&](dfs::DfsClient& c) { return Get(c, args->path, args->path2, true); }, "get");
  });

  auto* cat = fs->add_subcommand("cat", "Write dfs files to stdout, one after another");
  AddAdminOptions(cat, &args->admin);
  cat->add_option("paths", args->paths)->required();
  cat->callback([=] {
    *exit_code = WithClient(*args, [&](dfs::DfsClient& c) {
      for (const auto& p : args->paths) RETURN_IF_ERROR(Get(c, p, "-", false));
      return Status::Ok();
    });
  });

  auto* ls = fs->add_subcommand("ls", "List a directory");
  AddAdminOptions(ls, &args->admin);
  ls->add_option("path", args->path)->default_val("/");
  ls->add_flag("-l", args->long_format, "Long format: type, size, replicas, chunks, time");
  ls->callback([=] { *exit_code = WithClient(*args, [&](dfs::DfsClient& c) { return Ls(c, *args); }); });

  auto* stat = fs->add_subcommand("stat", "Show a file and its chunks with replica locations");
  AddAdminOptions(stat, &args->admin);
  stat->add_option("path", args->path)->required();
  stat->callback([=] { *exit_code = WithClient(*args, [&](dfs::DfsClient& c) { return Stat(c, *args); }); });

  auto* rm = fs->add_subcommand("rm", "Delete files or directories (each one named; the first error is reported)");
  AddAdminOptions(rm, &args->admin);
  rm->add_option("paths", args->paths)->required();
  rm->add_flag("-r,--recursive", args->recursive, "Delete a directory and everything in it");
  rm->callback([=] {
    *exit_code = WithClient(*args, [&](dfs::DfsClient& c) {
      // Like rm(1): goes on past a failure; the first is the command's
      // error, later ones are printed as they come.
      Status first;
      for (const auto& p : args->paths) {
        Status st = c.Delete(p, args->recursive);
        if (st.ok()) continue;
        if (first.ok()) {
          first = st;
        } else if (!args->admin.json) {
          std::cerr << "error: " << st.ToString() << "\n";
        }
      }
      return first;
    }, "rm");
  });

  auto* mv = fs->add_subcommand("mv", "Rename a file or directory (into TO when TO is a directory)");
  AddAdminOptions(mv, &args->admin);
  mv->add_option("from", args->path)->required();
  mv->add_option("to", args->path2)->required();
  mv->add_flag("-f,--overwrite", args->overwrite, "Replace an existing file");
  mv->callback([=] { *exit_code = WithClient(*args, [&](dfs::DfsClient& c) { return Mv(c, *args); }, "mv"); });
}

}  // namespace strata::cli
