#include "dfs/chunkserver/store/disk_identity.h"

#include <fmt/format.h>

#include "common/crc32c.h"
#include "common/logging.h"
#include "dfs/chunkserver/store/chunk_format.h"

namespace strata::dfs {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void PutId(std::string* out, const std::string& hex) {
  for (size_t i = 0; i < kIdBytes; ++i) {
    if (hex.empty()) {
      out->push_back('\0');
      continue;
    }
    auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    out->push_back(static_cast<char>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1])));
  }
}

// The id in hex; empty when all its bytes are zero.
std::string GetId(const char* p) {
  std::string hex;
  bool zero = true;
  for (size_t i = 0; i < kIdBytes; ++i) {
    auto b = static_cast<uint8_t>(p[i]);
    zero = zero && b == 0;
    hex.push_back(kHex[b >> 4]);
    hex.push_back(kHex[b & 15]);
  }
  return zero ? std::string() : hex;
}

}  // namespace

std::string EncodeDiskIdentity(const DiskIdentity& id) {
  std::string out;
  out.reserve(kIdentitySize);
  PutU32(&out, kIdentityMagic);
  out.push_back(static_cast<char>(kIdentityVersion & 0xff));
  out.push_back(static_cast<char>(kIdentityVersion >> 8));
  out.append(2, '\0');  // flags
  PutId(&out, id.disk_id);
  PutId(&out, id.cluster_id);
  PutU32(&out, Crc32c(out.data(), out.size()));
  return out;
}

Result<DiskIdentity> DecodeDiskIdentity(std::string_view bytes) {
  if (bytes.size() != kIdentitySize) {
    return Status::Corruption(fmt::format("disk identity has {} bytes, want {}", bytes.size(), kIdentitySize));
  }
  const char* p = bytes.data();
  if (GetU32(p) != kIdentityMagic) return Status::Corruption("disk identity: bad magic");
  if (GetU32(p + 40) != Crc32c(p, 40)) return Status::Corruption("disk identity: CRC mismatch");
  uint16_t version = static_cast<uint16_t>(static_cast<uint8_t>(p[4]) | static_cast<uint8_t>(p[5]) << 8);
  if (version != kIdentityVersion) return Status::Corruption(fmt::format("disk identity: unknown version {}", version));
  DiskIdentity id{GetId(p + 8), GetId(p + 24)};
  if (id.disk_id.empty()) return Status::Corruption("disk identity: no disk id");
  return id;
}

std::string NewRandomId(Random* rng) {
  uint64_t a = rng->Next64(), b = rng->Next64() | 1;  // never all zeros, which means "none"
  return fmt::format("{:016x}{:016x}", a, b);
}

bool IsValidId(std::string_view id) {
  if (id.size() != 2 * kIdBytes) return false;
  bool zero = true;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    zero = zero && c == '0';
  }
  return !zero;
}

Result<std::unique_ptr<DiskClaim>> DiskClaim::Open(FileSystem* fs, const std::string& dir, Random* rng) {
  auto lock = fs->LockFile(dir + "/" + kLockFileName);
  if (!lock.ok()) {
    if (lock.status().code() != StatusCode::kFailedPrecondition) return lock.status();
    return Status::FailedPrecondition("disk " + dir + " is in use by another chunkserver (" +
                                      lock.status().message() +
                                      "): a disk directory is served by one chunkserver at a time");
  }
  std::unique_ptr<DiskClaim> claim(new DiskClaim(fs, dir, std::move(*lock)));
  const std::string path = dir + "/" + kIdentityFileName;
  if (!fs->Exists(path)) {
    DiskIdentity fresh{NewRandomId(rng), ""};
    RETURN_IF_ERROR(claim->Write(fresh));
    claim->identity_ = fresh;
    spdlog::info("disk {}: new disk id {}", dir, fresh.disk_id);
    return claim;
  }
  ASSIGN_OR_RETURN(auto file, fs->OpenFile(path, OpenMode::kRead));
  std::string bytes(kIdentitySize + 1, '\0');
  ASSIGN_OR_RETURN(size_t n, file->ReadAt(0, bytes.data(), bytes.size()));
  bytes.resize(n);
  auto id = DecodeDiskIdentity(bytes);
  if (!id.ok()) return Status::Corruption(path + ": " + id.status().message());
  claim->identity_ = *id;
  return claim;
}

DiskIdentity DiskClaim::identity() const {
  std::lock_guard lock(mu_);
  return identity_;
}

Status DiskClaim::AdoptCluster(const std::string& cluster_id) {
  if (!IsValidId(cluster_id)) return Status::InvalidArgument("not a cluster id: '" + cluster_id + "'");
  std::lock_guard lock(mu_);
  if (identity_.cluster_id == cluster_id) return Status::Ok();
  if (!identity_.cluster_id.empty()) {
    return Status::FailedPrecondition("disk " + dir_ + " belongs to cluster " + identity_.cluster_id +
                                      ", not to this master's cluster " + cluster_id +
                                      ": refusing to serve it (its replicas are left untouched)");
  }
  DiskIdentity joined{identity_.disk_id, cluster_id};
  RETURN_IF_ERROR(Write(joined));
  identity_ = joined;
  spdlog::info("disk {} (disk id {}) joined cluster {}", dir_, joined.disk_id, cluster_id);
  return Status::Ok();
}

// tmp + fdatasync + rename + directory fsync: a crash leaves the old record
// or the new one, never a torn one.
Status DiskClaim::Write(const DiskIdentity& id) {
  const std::string path = dir_ + "/" + kIdentityFileName, tmp = path + ".tmp";
  std::string bytes = EncodeDiskIdentity(id);
  {
    ASSIGN_OR_RETURN(auto file, fs_->OpenFile(tmp, OpenMode::kCreate));
    RETURN_IF_ERROR(file->Truncate(0));
    RETURN_IF_ERROR(file->WriteAt(0, bytes.data(), bytes.size()));
    RETURN_IF_ERROR(file->Sync());
  }
  RETURN_IF_ERROR(fs_->Rename(tmp, path));
  return fs_->SyncDir(dir_);
}

}  // namespace strata::dfs
