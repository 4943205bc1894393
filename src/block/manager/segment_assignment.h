// Segment assignment: which blockserver serves each segment. Pure logic over
// records, no I/O, so every rule is unit-tested with plain values.
//
// Rules (docs/blockmanager.md):
//  * Placement is deterministic: a segment goes to the candidate server with
//    the fewest segments, ties broken by ServerIdLess - never a shuffle.
//    Placing counts the segment at once, so a batch spreads evenly.
//  * A new segment's first owner costs nothing. A move off a gone owner
//    bumps the epoch (the new owner fences the old one with it), keeps the
//    old owner in last_owner_id, and spends one failure-domain token.
//  * Logical failure domains (seed 002, EBS): each segment has a token bucket
//    of `tokens_max`, one token coming back every `refill_us`. A segment
//    with no tokens is restricted: it may only move among the members of the
//    one shared failure domain, so a poisonous segment that crashes every
//    server it lands on is confined to those servers once its tokens are
//    gone. The domain is formed when the first segment becomes restricted,
//    from the `domain_servers` alive servers with the lowest ids; a member
//    that is gone is replaced by the lowest alive id outside the domain.
//  * Nothing is ever moved to rebalance: a server that comes back only gets
//    new and moved segments.
//
// Token times are wall-clock microseconds, because buckets are persisted and
// must keep refilling across restarts of the manager.
//
// Thread-safety: a SegmentAssigner is not thread-safe; one is built per
// batch of decisions under the service's lock. Ownership: values only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "manager_records.pb.h"

namespace strata::block::manager {

struct AssignmentPolicy {
  uint32_t tokens_max = 3;
  uint64_t refill_us = 30ull * 60 * 1000 * 1000;
  uint32_t domain_servers = 3;
};

// Server ids in natural order: runs of digits compare as numbers, so "bs2"
// sorts before "bs10"; otherwise bytewise.
bool ServerIdLess(std::string_view a, std::string_view b);

struct TokenBucket {
  uint32_t tokens = 0;
  uint64_t refill_from_us = 0;  // when the next token starts accruing
};

// The bucket of `seg` at `now_wall_us`, refilled by the time elapsed.
TokenBucket TokensAt(const SegmentRecord& seg, uint64_t now_wall_us, const AssignmentPolicy& policy);
inline bool IsRestricted(const SegmentRecord& seg, uint64_t now_wall_us, const AssignmentPolicy& policy) {
  return TokensAt(seg, now_wall_us, policy).tokens == 0;
}

// A segment with no owner yet and a full bucket.
SegmentRecord NewSegment(uint64_t volume_id, uint32_t index, const AssignmentPolicy& policy, uint64_t now_wall_us);

class SegmentAssigner {
 public:
  // `alive`: the servers that may take segments, in any order. `load`: the
  // segments each server owns now (a server absent from it owns none).
  // `domain`: the shared failure domain as persisted (no members: not formed).
  SegmentAssigner(std::vector<std::string> alive, std::map<std::string, uint64_t> load, FailureDomainRecord domain,
                  AssignmentPolicy policy);

  bool has_servers() const { return !alive_.empty(); }

  // Gives a segment that never had an owner its first one (epoch + 1, no
  // token spent). False when no server is alive.
  bool Place(SegmentRecord* seg);

  // Moves `seg` off its owner, which is gone: to the least-loaded alive
  // server, or when it is restricted to the least-loaded alive member of
  // the shared domain. Spends a token; the move that spends the last one
  // forms the domain if it does not exist yet. False (and `seg` unchanged)
  // when no server may take it.
  bool Move(SegmentRecord* seg, uint64_t now_wall_us);

  // When the domain exists: drops members for which `gone` is true and
  // fills it up to `domain_servers` with the lowest alive ids outside it.
  void RefreshDomain(const std::function<bool(const std::string&)>& gone);

  const FailureDomainRecord& domain() const { return domain_; }
  // The domain differs from the one given to the constructor.
  bool domain_changed() const { return domain_changed_; }

 private:
  std::optional<std::string> LeastLoaded(const std::vector<std::string>& candidates) const;
  void FormDomain(uint64_t now_wall_us);
  void Take(SegmentRecord* seg, const std::string& owner);

  std::vector<std::string> alive_;  // sorted by ServerIdLess
  std::map<std::string, uint64_t> load_;
  FailureDomainRecord domain_;
  AssignmentPolicy policy_;
  bool domain_changed_ = false;
};

}  // namespace strata::block::manager
