#include "dfs/client/dfs_client.h"

#include <chrono>
#include <cstdio>
#include <thread>

#include "common/logging.h"
#include "common/utf8.h"
#include "dfs/client/file_reader.h"
#include "dfs/client/file_writer.h"

namespace strata::dfs {

DfsClient::DfsClient(DfsClientOptions options)
    : options_(std::move(options)),
      rpc_(rpc::RpcClientOptions{.default_timeout_ms = options_.rpc_timeout_ms, .auth = options_.auth}),
      masters_(options_.master),
      clock_(options_.clock ? options_.clock : SystemClock::Default().get()) {}

DfsClient::~DfsClient() = default;

namespace {

// Paths travel in protobuf string fields, which must hold UTF-8: a path that
// is not is refused here, with the reason, rather than by the master's parser.
Status CheckPathBytes(const std::string& path) {
  if (IsValidUtf8(path)) return Status::Ok();
  std::string shown;
  for (unsigned char ch : path.substr(0, 256)) {
    if (ch >= 0x20 && ch < 0x7f) {
      shown.push_back(static_cast<char>(ch));
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", ch);
      shown += hex;
    }
  }
  return Status::InvalidArgument("invalid path '" + shown + "': is not valid UTF-8");
}

}  // namespace


// An answer that shows the address is not a master: a Strata server of
// another kind refuses the master's method ids (no two services share one),
// and anything else fails to send a Strata frame at all.
Status DfsClient::NotAMaster(const std::string& addr, const Status& st) const {
  const std::string& m = st.message();
  if (st.code() == StatusCode::kNotSupported && m.find("unknown rpc method") != std::string::npos) {
    return Status::InvalidArgument(addr + " is not a Strata master (it is another Strata server: " + m + ")");
  }
  if ((st.code() == StatusCode::kUnavailable && m.find("bad frame magic") != std::string::npos) ||
      (st.code() == StatusCode::kPermissionDenied && m.find("does not speak Strata RPC") != std::string::npos)) {
    return Status::InvalidArgument(addr + " is not a Strata master (it does not speak Strata RPC: " + m + ")");
  }
  return Status::Ok();
}

uint64_t DfsClient::OutageStart(uint64_t now_us) {
  std::lock_guard lock(outage_mu_);
  if (outage_since_us_ && now_us - outage_last_failure_us_ <= uint64_t{kOutageGapMs} * 1000) return *outage_since_us_;
  return now_us;
}

void DfsClient::NoteFailure(uint64_t start_us, uint64_t now_us) {
  std::lock_guard lock(outage_mu_);
  if (!outage_since_us_ || *outage_since_us_ > start_us) outage_since_us_ = start_us;
  outage_last_failure_us_ = now_us;
}

void DfsClient::NoteAnswer() {
  std::lock_guard lock(outage_mu_);
  outage_since_us_.reset();
}

Status DfsClient::CallMaster(MasterMethod method, const google::protobuf::Message& req,
                             google::protobuf::Message* resp) {
  uint32_t budget_ms = master_reached_ ? options_.master_retry_ms_max : options_.master_first_contact_ms_max;
  // A call that continues an outage gets what is left of its budget.
  const uint64_t start = OutageStart(clock_->NowMicros());
  uint64_t deadline = start + uint64_t{budget_ms} * 1000;
  uint64_t backoff_us = 50'000;
  for (;;) {
    const std::string addr = masters_.Current();
    Status st = rpc_.CallTyped(addr, method, req, resp);
    if (Status wrong = NotAMaster(addr, st); !wrong.ok()) return wrong;
    if (st.ok() || !st.retryable()) {
      // Any answer, even an error, proves the address is a live master.
      if (st.ok() || st.code() != StatusCode::kUnavailable) master_reached_ = true;
      masters_.Answered(addr);
      NoteAnswer();
      return st;
    }
    if (st.code() == StatusCode::kNotLeader && !master_reached_) {
      // A standby answered: the masters exist, an election may be under way.
      master_reached_ = true;
      budget_ms = options_.master_retry_ms_max;
      deadline = start + uint64_t{budget_ms} * 1000;
    }
    const uint64_t now = clock_->NowMicros();
    NoteFailure(start, now);
    const bool at_once = masters_.Failed(addr, st);
    if (now + (at_once ? 0 : backoff_us) > deadline) {
      // Either the master could not be reached or it kept answering that it
      // cannot do this now (e.g. too few chunkservers to place replicas).
      return st.WithContext("master " + addr + ", gave up after " + std::to_string((now - start) / 1000) +
                            " ms (bound " + std::to_string(budget_ms) + " ms)");
    }
    if (at_once) continue;
    clock_->SleepMicros(backoff_us);
    backoff_us = std::min<uint64_t>(backoff_us * 2, uint64_t{kOutageGapMs} * 1000);
  }
}

Status DfsClient::Mkdir(const std::string& path, bool parents) {
  RETURN_IF_ERROR(CheckPathBytes(path));
  MkdirRequest req;
  req.set_path(path);
  req.set_parents(parents);
  MkdirResponse resp;
  return CallMaster(MASTER_MKDIR, req, &resp);
}

Result<FileInfo> DfsClient::Create(const std::string& path, const CreateOptions& options) {
  RETURN_IF_ERROR(CheckPathBytes(path));
  CreateRequest req;
  req.set_path(path);
  req.set_replication(options.replication);
  req.set_min_copies(options.min_copies);
  req.set_chunk_size(options.chunk_size);
  req.set_durability(options.durability);
  req.set_overwrite(options.overwrite);
  req.set_temporary(options.temporary);
  CreateResponse resp;
  RETURN_IF_ERROR(CallMaster(MASTER_CREATE, req, &resp));
  return resp.info();
}

Result<StatResponse> DfsClient::Stat(const std::string& path) {
  RETURN_IF_ERROR(CheckPathBytes(path));
  StatRequest req;
  req.set_path(path);
  StatResponse resp;
  RETURN_IF_ERROR(CallMaster(MASTER_STAT, req, &resp));
  return resp;
}

Result<std::vector<FileInfo>> DfsClient::List(const std::string& path) {
  RETURN_IF_ERROR(CheckPathBytes(path));
  ListRequest req;
  req.set_path(path);
  ListResponse resp;
  RETURN_IF_ERROR(CallMaster(MASTER_LIST, req, &resp));
  return std::vector<FileInfo>(resp.entries().begin(), resp.entries().end());
}

Status DfsClient::Rename(const std::string& from, const std::string& to, bool replace) {
  RETURN_IF_ERROR(CheckPathBytes(from));
  RETURN_IF_ERROR(CheckPathBytes(to));
  RenameRequest req;
  req.set_from(from);
  req.set_to(to);
  req.set_replace(replace);
  RenameResponse resp;
  return CallMaster(MASTER_RENAME, req, &resp);
}

Status DfsClient::Delete(const std::string& path, bool recursive) {
  RETURN_IF_ERROR(CheckPathBytes(path));
  DeleteRequest req;
  req.set_path(path);
  req.set_recursive(recursive);
  DeleteResponse resp;
  return CallMaster(MASTER_DELETE, req, &resp);
}

Result<std::string> DfsClient::ClusterStatusJson() {
  ClusterStatusRequest req;
  ClusterStatusResponse resp;
  RETURN_IF_ERROR(CallMaster(MASTER_CLUSTER_STATUS, req, &resp));
  return resp.json();
}

Result<std::unique_ptr<FileWriter>> DfsClient::OpenWriter(const std::string& path) {
  RETURN_IF_ERROR(CheckPathBytes(path));
  OpenWriteRequest req;
  req.set_path(path);
  OpenWriteResponse resp;
  RETURN_IF_ERROR(CallMaster(MASTER_OPEN_WRITE, req, &resp));
  return std::make_unique<FileWriter>(this, path, resp);
}

Result<std::unique_ptr<FileReader>> DfsClient::OpenReader(const std::string& path) {
  RETURN_IF_ERROR(CheckPathBytes(path));
  ASSIGN_OR_RETURN(StatResponse st, Stat(path));
  if (st.info().is_dir()) return Status::InvalidArgument(path + " is a directory");
  return std::make_unique<FileReader>(this, path, std::move(st));
}

}  // namespace strata::dfs
