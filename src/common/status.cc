#include "common/status.h"

#include <cstring>

namespace strata {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "InvalidArgument";
    case StatusCode::kNotFound: return "NotFound";
    case StatusCode::kAlreadyExists: return "AlreadyExists";
    case StatusCode::kFailedPrecondition: return "FailedPrecondition";
    case StatusCode::kOutOfRange: return "OutOfRange";
    case StatusCode::kResourceExhausted: return "ResourceExhausted";
    case StatusCode::kUnavailable: return "Unavailable";
    case StatusCode::kDeadlineExceeded: return "DeadlineExceeded";
    case StatusCode::kAborted: return "Aborted";
    case StatusCode::kPermissionDenied: return "PermissionDenied";
    case StatusCode::kNotSupported: return "NotSupported";
    case StatusCode::kInternal: return "Internal";
    case StatusCode::kIoError: return "IoError";
    case StatusCode::kNoSpace: return "NoSpace";
    case StatusCode::kCorruption: return "Corruption";
    case StatusCode::kProtocolError: return "ProtocolError";
    case StatusCode::kStaleEpoch: return "StaleEpoch";
    case StatusCode::kNotLeader: return "NotLeader";
  }
  return "Unknown";
}

std::string NotLeaderTarget(const Status& st) {
  if (st.code() != StatusCode::kNotLeader) return "";
  const std::string& m = st.message();
  size_t at = m.rfind("leader=");
  if (at == std::string::npos) return "";
  std::string addr = m.substr(at + 7);
  size_t end = addr.find_first_of(" ;,)");
  if (end != std::string::npos) addr.resize(end);
  return addr;
}

Status Status::FromErrno(int err, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(err);
  switch (err) {
    case ENOENT: return NotFound(std::move(msg));
    case EEXIST: return AlreadyExists(std::move(msg));
    case ENOSPC:
    case EDQUOT: return NoSpace(std::move(msg));
    case EACCES:
    case EPERM:
    case EROFS: return PermissionDenied(std::move(msg));
    case EINVAL: return InvalidArgument(std::move(msg));
    case EAGAIN:
    case ECONNREFUSED:
    case ECONNRESET:
    case EPIPE: return Unavailable(std::move(msg));
    case ETIMEDOUT: return DeadlineExceeded(std::move(msg));
    default: return IoError(std::move(msg));
  }
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(StatusCodeName(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string msg(context);
  msg += ": ";
  msg += message_;
  return Status(code_, std::move(msg));
}

}  // namespace strata
