// Status: the outcome of an operation that can fail, without exceptions.
//
// One list of error codes for the whole project, grouped by subsystem. Edges
// map them to their protocol: errno at the NBD edge, -ERR / SERVER_ERROR at the
// cache edge, the status field of an RPC reply on the wire (the numeric values
// are part of the RPC wire format: never renumber, only append).
//
// Thread-safety: a Status is a value; distinct objects may be used from
// distinct threads freely.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace strata {

enum class StatusCode : uint16_t {
  kOk = 0,
  // Generic.
  kInvalidArgument = 1,    // the caller's input is wrong; retrying will not help
  kNotFound = 2,
  kAlreadyExists = 3,
  kFailedPrecondition = 4, // state does not allow it (e.g. append to sealed chunk)
  kOutOfRange = 5,
  kResourceExhausted = 6,  // over a quota or rate limit
  kUnavailable = 7,        // peer down or overloaded; retryable
  kDeadlineExceeded = 8,   // retryable
  kAborted = 9,            // lost a race (e.g. stale epoch); caller decides
  kPermissionDenied = 10,
  kNotSupported = 11,
  kInternal = 12,          // a bug: an invariant does not hold
  // I/O and data.
  kIoError = 20,           // the disk said EIO; the data may or may not be there
  kNoSpace = 21,           // ENOSPC or a configured limit on a disk
  kCorruption = 22,        // a checksum did not match: data was lost on this copy
  // Protocols.
  kProtocolError = 30,     // malformed frame or request on the wire
  kStaleEpoch = 31,        // fenced: a newer writer owns the object
  // Replicated roles (several processes, one leader elected in etcd).
  kNotLeader = 40,         // a standby: the message ends with "leader=HOST:PORT" (empty: none elected yet); retryable
};

std::string_view StatusCodeName(StatusCode code);

class Status;
// The leader a NotLeader status names ("" when it names none, or for any
// other status). Context added in front of the message does not matter.
std::string NotLeaderTarget(const Status& st);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
  static Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
  static Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status DeadlineExceeded(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }
  static Status Aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
  static Status NotSupported(std::string m) { return {StatusCode::kNotSupported, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status NoSpace(std::string m) { return {StatusCode::kNoSpace, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status ProtocolError(std::string m) { return {StatusCode::kProtocolError, std::move(m)}; }
  static Status StaleEpoch(std::string m) { return {StatusCode::kStaleEpoch, std::move(m)}; }
  // A standby's refusal naming the leader (empty: nobody leads yet), read
  // back with NotLeaderTarget(); `what` says who refuses, e.g. "master standby".
  static Status NotLeader(std::string_view what, std::string_view leader) {
    return {StatusCode::kNotLeader, std::string(what) + ": not the leader; leader=" + std::string(leader)};
  }
  // From an errno value, naming the operation: "open /x: No such file or directory".
  static Status FromErrno(int err, std::string_view what);

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // True when the same request may succeed later without any change.
  bool retryable() const {
    return code_ == StatusCode::kUnavailable || code_ == StatusCode::kDeadlineExceeded ||
           code_ == StatusCode::kNotLeader;
  }
  // "NotFound: /a/b" or "OK".
  std::string ToString() const;
  // Same code, message prefixed with context: "put /x: <message>".
  Status WithContext(std::string_view context) const;

  bool operator==(const Status& o) const { return code_ == o.code_ && message_ == o.message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

}  // namespace strata

#define STRATA_CONCAT_INNER(a, b) a##b
#define STRATA_CONCAT(a, b) STRATA_CONCAT_INNER(a, b)

// Returns the Status of `expr` from the enclosing function when it is not OK.
#define RETURN_IF_ERROR(expr)                         \
  do {                                                \
    ::strata::Status _st = (expr);                    \
    if (!_st.ok()) return _st;                        \
  } while (0)
