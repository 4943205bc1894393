// EtcdMetaStore: a MetaStore kept in an etcd v3 cluster, so that the metadata
// of a control role survives the loss of the machine that runs it (the first
// step towards a highly available master). Talks to etcd's JSON gateway over
// HTTP (/v3/kv/range, /v3/kv/put, /v3/kv/deleterange, /v3/kv/txn); keys and
// values are base64 in the JSON bodies, so any byte string works.
//
// Layout: every key is stored as `key_prefix + key`, so several roles (or
// clusters) share one etcd under distinct prefixes; scans never see keys of
// another prefix. See docs/etcd.md.
//
// Semantics:
//   - Durability: etcd acknowledges a write once a quorum has it in its WAL
//     (fsynced); an OK survives SIGKILL of any minority of members.
//   - Write(batch) is one etcd transaction. etcd rejects a transaction with
//     more than --max-txn-ops operations (128 by default) or a request larger
//     than --max-request-bytes (1.5 MiB by default); such a batch is refused
//     here, before it is sent, with InvalidArgument and nothing is written
//     (atomicity is never given up by splitting). Several operations on one
//     key collapse to the last one first (etcd refuses duplicate keys in a
//     transaction), so the limit counts distinct keys.
//   - ScanPrefix pages through range reads of `scan_page_keys` keys, all at
//     the revision of the first page, so a scan sees one consistent snapshot.
//   - Reads are linearizable (etcd's default).
//   - Leases (for leader election, meta/leader_election.h): GrantLease,
//     KeepAliveLease and RevokeLease use /v3/lease/grant,
//     /v3/lease/keepalive and /v3/kv/lease/revoke (the 3.4 gateway's path);
//     WriteIf can bind its puts to a lease, so they vanish when it expires.
//
// Errors: an unreachable endpoint is skipped for the next one (only when the
// connection could not be made, so a request is never sent twice); when all
// are down, Unavailable names every endpoint and its cause. etcd's "no
// leader" / "request timed out" and our own request timeout are Unavailable;
// "database space exceeded" (the backend quota) is ResourceExhausted;
// requests etcd refuses as malformed or too large are InvalidArgument.
//
// Thread-safety: thread-safe; requests are serialized by one mutex (metadata
// traffic is small). ScanPrefix calls `fn` without holding the mutex, so `fn`
// may call back into the store. Ownership: owns its HTTP connections.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "meta/meta_store.h"

namespace strata::meta {

struct EtcdMetaStoreOptions {
  // "http://host:port" or "host:port"; tried in order, starting from the last
  // one that answered.
  std::vector<std::string> endpoints;
  std::string key_prefix;                  // namespace of this store's keys
  int request_timeout_ms = 5000;           // per HTTP request (connect + answer)
  int connect_timeout_ms = 1000;           // per connection attempt
  size_t max_txn_ops = 128;                // etcd's --max-txn-ops
  size_t max_request_bytes = 1536 * 1024;  // etcd's --max-request-bytes
  size_t scan_page_keys = 1000;            // keys per range read of ScanPrefix
};

// A condition of WriteIf on one key's revisions. An absent key has
// create_revision and mod_revision 0, so {kCreateRevision, key, 0} means
// "the key does not exist".
struct EtcdCompare {
  enum class Target { kCreateRevision, kModRevision };
  Target target = Target::kModRevision;
  std::string key;  // without the key prefix
  int64_t revision = 0;
};

// A value with the revisions etcd keeps for it.
struct EtcdKeyValue {
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
};

class EtcdMetaStore final : public MetaStore {
 public:
  // Does not contact etcd (a store can be made while etcd is still starting);
  // InvalidArgument when there is no endpoint or an endpoint is malformed.
  static Result<std::unique_ptr<EtcdMetaStore>> Open(EtcdMetaStoreOptions options);
  ~EtcdMetaStore() override;

  Result<std::string> Get(std::string_view key) override;
  Status Put(std::string_view key, std::string_view value) override;
  Status Delete(std::string_view key) override;
  Status Write(const WriteBatch& batch) override;
  Status ScanPrefix(std::string_view prefix, const ScanFn& fn) override;

  // Get with the key's revisions; NotFound when absent.
  Result<EtcdKeyValue> GetWithRevision(std::string_view key);
  // Applies `batch` atomically only if every compare holds; Aborted (nothing
  // written) when one does not. Returns the revision of the write (for an
  // empty batch whose compares hold: the current revision).
  // With `lease` != 0, every put of the batch is bound to that lease (etcd
  // deletes the keys when the lease expires or is revoked).
  Result<int64_t> WriteIf(const std::vector<EtcdCompare>& compares, const WriteBatch& batch, int64_t lease = 0);

  // A lease granted for `ttl_seconds` (> 0); etcd may raise the TTL to its
  // minimum, so the granted TTL is returned with the id.
  struct Lease {
    int64_t id = 0;
    int64_t ttl_seconds = 0;
  };
  Result<Lease> GrantLease(int64_t ttl_seconds);
  // Renews the lease once; returns its remaining TTL in seconds, 0 when the
  // lease is gone (expired or revoked).
  Result<int64_t> KeepAliveLease(int64_t lease);
  // Revokes the lease, deleting the keys bound to it; OK when it is already
  // gone.
  Status RevokeLease(int64_t lease);
  // The etcd revision of this store's last successful write (0 before any).
  int64_t last_write_revision() const;

 private:
  struct Endpoint;
  explicit EtcdMetaStore(EtcdMetaStoreOptions options, std::vector<std::unique_ptr<Endpoint>> endpoints);

  // POSTs `body` to `path` on the current endpoint, failing over; returns the
  // parsed JSON answer (as text, parsed by the caller's helper).
  Result<std::string> Call(const std::string& path, const std::string& body, std::string_view what);
  Result<int64_t> Txn(const std::vector<EtcdCompare>& compares, const WriteBatch& batch, int64_t lease,
                      bool* succeeded);
  void NoteWrite(int64_t revision);

  const EtcdMetaStoreOptions options_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;  // GUARDED_BY(mu_)
  size_t current_ = 0;                                // GUARDED_BY(mu_)
  int64_t last_write_revision_ = 0;                   // GUARDED_BY(mu_)
};

}  // namespace strata::meta
