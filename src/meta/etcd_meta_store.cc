#include "meta/etcd_meta_store.h"

#include <httplib.h>

#include <charconv>
#include <exception>
#include <map>

#include <nlohmann/json.hpp>

namespace strata::meta {
namespace {

using nlohmann::json;

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string B64Encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += i + 1 < in.size() ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> B64Decode(std::string_view in) {
  std::string out;
  out.reserve(in.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+' || c == '-') v = 62;
    else if (c == '/' || c == '_') v = 63;
    else if (c == '=') break;
    else return Status::ProtocolError("etcd: bad base64 in answer");
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xFF);
    }
  }
  return out;
}

// etcd's JSON encodes int64 as strings ("revision":"12"); absent means 0.
int64_t JsonInt(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (!it->is_string()) return 0;
  const std::string& s = it->get_ref<const std::string&>();
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

std::string JsonString(const json& j, const char* field) {
  auto it = j.find(field);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The first key after every key that starts with `prefix` (etcd's range_end
// for a prefix): the prefix with its trailing 0xFF bytes dropped and its last
// byte incremented; "\0" (all keys to the end) when the prefix is empty or
// all 0xFF.
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && uint8_t(prefix.back()) == 0xFF) prefix.pop_back();
  if (prefix.empty()) return std::string(1, '\0');
  prefix.back() = char(uint8_t(prefix.back()) + 1);
  return prefix;
}

// The status of an error answer of etcd: {"error": "...", "code": <grpc code>}.
Status EtcdError(const std::string& endpoint, std::string_view what, const json& answer, int http_status) {
  std::string cause = JsonString(answer, "error");
  if (cause.empty()) cause = JsonString(answer, "message");
  if (cause.empty()) cause = "HTTP " + std::to_string(http_status);
  int code = int(JsonInt(answer, "code"));
  std::string msg = "etcd " + endpoint + ": " + std::string(what) + ": " + cause;
  if (cause.find("database space exceeded") != std::string::npos) {
    return Status::ResourceExhausted(msg + " (the etcd backend quota is full: compact and defragment, "
                                            "or raise --quota-backend-bytes)");
  }
  if (cause.find("larger than max") != std::string::npos || cause.find("too large") != std::string::npos ||
      cause.find("too many operations") != std::string::npos) {
    return Status::InvalidArgument(msg);
  }
  switch (code) {
    case 3:   // INVALID_ARGUMENT
    case 11:  // OUT_OF_RANGE (e.g. a compacted revision)
      return Status::InvalidArgument(msg);
    case 8:  // RESOURCE_EXHAUSTED
      return Status::ResourceExhausted(msg);
    case 7:   // PERMISSION_DENIED
    case 16:  // UNAUTHENTICATED
      return Status::PermissionDenied(msg);
    case 1:   // CANCELLED
    case 4:   // DEADLINE_EXCEEDED ("request timed out")
    case 10:  // ABORTED
    case 14:  // UNAVAILABLE ("no leader", "leader changed")
      return Status::Unavailable(msg);
    default:
      break;
  }
  if (http_status >= 500 || cause.find("timed out") != std::string::npos ||
      cause.find("leader") != std::string::npos) {
    return Status::Unavailable(msg);
  }
  return Status::Internal(msg);
}

Result<json> ParseAnswer(const std::string& endpoint, std::string_view what, const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::ProtocolError("etcd " + endpoint + ": " + std::string(what) + ": answer is not a JSON object");
  }
  return j;
}

// The size of the protobuf request etcd will see (what --max-request-bytes
// bounds): the raw key and value bytes plus a few bytes of framing per op.
size_t ApproxRequestBytes(const std::vector<EtcdCompare>& compares, const std::vector<const WriteBatch::Op*>& ops,
                          const std::string& prefix) {
  size_t bytes = 64;
  for (const auto& c : compares) bytes += prefix.size() + c.key.size() + 32;
  for (const auto* op : ops) bytes += prefix.size() + op->key.size() + op->value.size() + 32;
  return bytes;
}

}  // namespace

struct EtcdMetaStore::Endpoint {
  std::string name;  // as given, for messages
  std::unique_ptr<httplib::Client> client;
};

EtcdMetaStore::EtcdMetaStore(EtcdMetaStoreOptions options, std::vector<std::unique_ptr<Endpoint>> endpoints)
    : options_(std::move(options)), endpoints_(std::move(endpoints)) {}

EtcdMetaStore::~EtcdMetaStore() = default;

Result<std::unique_ptr<EtcdMetaStore>> EtcdMetaStore::Open(EtcdMetaStoreOptions options) {
  if (options.endpoints.empty()) return Status::InvalidArgument("etcd: no endpoint given");
  if (options.max_txn_ops == 0 || options.scan_page_keys == 0 || options.request_timeout_ms <= 0) {
    return Status::InvalidArgument("etcd: max_txn_ops, scan_page_keys and request_timeout_ms must be positive");
  }
  std::vector<std::unique_ptr<Endpoint>> endpoints;
  for (const auto& e : options.endpoints) {
    std::string url = e.find("://") == std::string::npos ? "http://" + e : e;
    if (url.rfind("http://", 0) != 0) {
      return Status::InvalidArgument("etcd endpoint " + e + ": only http:// is supported");
    }
    auto ep = std::make_unique<Endpoint>();
    ep->name = e;
    try {
      ep->client = std::make_unique<httplib::Client>(url);
    } catch (const std::exception& ex) {
      return Status::InvalidArgument("etcd endpoint " + e + ": " + ex.what());
    }
    if (!ep->client->is_valid()) return Status::InvalidArgument("etcd endpoint " + e + ": not a valid URL");
    auto ms = [](int v) { return std::chrono::milliseconds(v); };
    ep->client->set_connection_timeout(ms(std::min(options.connect_timeout_ms, options.request_timeout_ms)));
    ep->client->set_read_timeout(ms(options.request_timeout_ms));
    ep->client->set_write_timeout(ms(options.request_timeout_ms));
    ep->client->set_keep_alive(true);
    ep->client->set_tcp_nodelay(true);  // headers and body go out in separate writes
    endpoints.push_back(std::move(ep));
  }
  return std::unique_ptr<EtcdMetaStore>(new EtcdMetaStore(std::move(options), std::move(endpoints)));
}

Result<std::string> EtcdMetaStore::Call(const std::string& path, const std::string& body, std::string_view what) {
  std::lock_guard lock(mu_);
  std::string causes;
  for (size_t attempt = 0; attempt < endpoints_.size(); ++attempt) {
    size_t index = (current_ + attempt) % endpoints_.size();
    Endpoint& ep = *endpoints_[index];
    // The gateway answers an error chunked with an HTTP trailer
    // (Grpc-Trailer-Content-Type), which this httplib cannot parse: it reports
    // a read error after the whole body arrived. So the status and body are
    // collected as they come, and an error answer that arrived whole (a JSON
    // object with an "error") is used even when the read then fails.
    httplib::Request req;
    req.method = "POST";
    req.path = path;
    req.body = body;
    req.set_header("Content-Type", "application/json");
    int http_status = 0;
    std::string answer;
    req.response_handler = [&](const httplib::Response& r) {
      http_status = r.status;
      return true;
    };
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      answer.append(data, n);
      return true;
    };
    httplib::Response res;
    httplib::Error err = httplib::Error::Success;
    bool sent = ep.client->send(req, res, err);
    if (!sent && http_status != 0 && http_status != 200) {
      json j = json::parse(answer, nullptr, false);
      if (j.is_object() && j.contains("error")) sent = true;
    }
    if (!sent) {
      // Only a connection that was never made is retried elsewhere: any later
      // failure may mean the request was applied, and a second send of a
      // conditional write could then fail its compare wrongly.
      if (err == httplib::Error::Connection || err == httplib::Error::ConnectionTimeout ||
          err == httplib::Error::BindIPAddress) {
        if (!causes.empty()) causes += "; ";
        causes += ep.name + ": " + httplib::to_string(err);
        continue;
      }
      std::string cause = err == httplib::Error::Read ? "no answer within " + std::to_string(options_.request_timeout_ms) +
                                                            " ms or connection lost (" + httplib::to_string(err) + ")"
                                                      : httplib::to_string(err);
      return Status::Unavailable("etcd " + ep.name + ": " + std::string(what) + ": " + cause +
                                 " (the request may or may not have been applied)");
    }
    current_ = index;
    if (http_status != 200) {
      json j = json::parse(answer, nullptr, false);
      return EtcdError(ep.name, what, j.is_object() ? j : json::object(), http_status);
    }
    return answer;
  }
  return Status::Unavailable("etcd unreachable: " + std::string(what) + ": " + causes);
}

Result<EtcdKeyValue> EtcdMetaStore::GetWithRevision(std::string_view key) {
  json req = {{"key", B64Encode(options_.key_prefix + std::string(key))}};
  ASSIGN_OR_RETURN(std::string body, Call("/v3/kv/range", req.dump(), "get"));
  ASSIGN_OR_RETURN(json answer, ParseAnswer("", "get", body));
  auto kvs = answer.find("kvs");
  if (kvs == answer.end() || !kvs->is_array() || kvs->empty()) return Status::NotFound("meta key not found");
  const json& kv = (*kvs)[0];
  EtcdKeyValue out;
  ASSIGN_OR_RETURN(out.value, B64Decode(JsonString(kv, "value")));
  out.create_revision = JsonInt(kv, "create_revision");
  out.mod_revision = JsonInt(kv, "mod_revision");
  out.version = JsonInt(kv, "version");
  return out;
}

Result<std::string> EtcdMetaStore::Get(std::string_view key) {
  ASSIGN_OR_RETURN(EtcdKeyValue kv, GetWithRevision(key));
  return std::move(kv.value);
}

Status EtcdMetaStore::Put(std::string_view key, std::string_view value) {
  WriteBatch b;
  b.Put(std::string(key), std::string(value));
  return Write(b);
}

Status EtcdMetaStore::Delete(std::string_view key) {
  WriteBatch b;
  b.Delete(std::string(key));
  return Write(b);
}

Status EtcdMetaStore::Write(const WriteBatch& batch) {
  if (batch.empty()) return Status::Ok();
  bool succeeded = false;
  ASSIGN_OR_RETURN(int64_t revision, Txn({}, batch, 0, &succeeded));
  (void)revision;
  if (!succeeded) return Status::Internal("etcd: a transaction without compares did not succeed");
  return Status::Ok();
}

Result<int64_t> EtcdMetaStore::WriteIf(const std::vector<EtcdCompare>& compares, const WriteBatch& batch,
                                       int64_t lease) {
  bool succeeded = false;
  ASSIGN_OR_RETURN(int64_t revision, Txn(compares, batch, lease, &succeeded));
  if (!succeeded) return Status::Aborted("etcd: write condition does not hold (a compared revision changed)");
  return revision;
}

Result<int64_t> EtcdMetaStore::Txn(const std::vector<EtcdCompare>& compares, const WriteBatch& batch,
                                   int64_t lease, bool* succeeded) {
  // The last operation on each key decides its final state; etcd refuses a
  // transaction that names a key twice.
  std::map<std::string_view, const WriteBatch::Op*> last;
  for (const auto& op : batch.ops()) last[op.key] = &op;
  std::vector<const WriteBatch::Op*> ops;
  ops.reserve(last.size());
  for (const auto& [k, op] : last) ops.push_back(op);
  if (ops.size() > options_.max_txn_ops || compares.size() > options_.max_txn_ops) {
    return Status::InvalidArgument("etcd: batch of " + std::to_string(ops.size()) + " distinct keys and " +
                                   std::to_string(compares.size()) + " compares exceeds the limit of " +
                                   std::to_string(options_.max_txn_ops) +
                                   " operations per transaction (etcd --max-txn-ops); nothing was written");
  }
  size_t bytes = ApproxRequestBytes(compares, ops, options_.key_prefix);
  if (bytes > options_.max_request_bytes) {
    return Status::InvalidArgument("etcd: batch of about " + std::to_string(bytes) + " bytes exceeds the limit of " +
                                   std::to_string(options_.max_request_bytes) +
                                   " bytes per request (etcd --max-request-bytes); nothing was written");
  }
  json cmp = json::array();
  for (const auto& c : compares) {
    bool create = c.target == EtcdCompare::Target::kCreateRevision;
    cmp.push_back({{"key", B64Encode(options_.key_prefix + c.key)},
                   {"target", create ? "CREATE" : "MOD"},
                   {"result", "EQUAL"},
                   {create ? "create_revision" : "mod_revision", std::to_string(c.revision)}});
  }
  json success = json::array();
  for (const auto* op : ops) {
    std::string key = B64Encode(options_.key_prefix + op->key);
    if (op->is_delete) {
      success.push_back({{"request_delete_range", {{"key", key}}}});
    } else {
      json put = {{"key", key}, {"value", B64Encode(op->value)}};
      if (lease != 0) put["lease"] = std::to_string(lease);
      success.push_back({{"request_put", put}});
    }
  }
  json req = {{"compare", cmp}, {"success", success}};
  ASSIGN_OR_RETURN(std::string body, Call("/v3/kv/txn", req.dump(), "write"));
  ASSIGN_OR_RETURN(json answer, ParseAnswer("", "write", body));
  auto ok = answer.find("succeeded");
  *succeeded = ok != answer.end() && ok->is_boolean() && ok->get<bool>();
  auto header = answer.find("header");
  int64_t revision = header != answer.end() && header->is_object() ? JsonInt(*header, "revision") : 0;
  if (*succeeded && !ops.empty()) NoteWrite(revision);
  return revision;
}

Result<EtcdMetaStore::Lease> EtcdMetaStore::GrantLease(int64_t ttl_seconds) {
  if (ttl_seconds <= 0) return Status::InvalidArgument("etcd: a lease TTL must be positive");
  json req = {{"TTL", std::to_string(ttl_seconds)}};
  ASSIGN_OR_RETURN(std::string body, Call("/v3/lease/grant", req.dump(), "lease grant"));
  ASSIGN_OR_RETURN(json answer, ParseAnswer("", "lease grant", body));
  Lease lease{JsonInt(answer, "ID"), JsonInt(answer, "TTL")};
  if (lease.id == 0 || lease.ttl_seconds <= 0) {
    std::string cause = JsonString(answer, "error");
    return Status::ProtocolError("etcd: lease grant answered no lease" + (cause.empty() ? "" : ": " + cause));
  }
  return lease;
}

Result<int64_t> EtcdMetaStore::KeepAliveLease(int64_t lease) {
  // A streaming call in gRPC; the gateway sends one request and relays the
  // first answer as {"result": {"ID": .., "TTL": ..}}, TTL absent once the
  // lease is gone.
  json req = {{"ID", std::to_string(lease)}};
  ASSIGN_OR_RETURN(std::string body, Call("/v3/lease/keepalive", req.dump(), "lease keepalive"));
  // The stream may carry more than one JSON object; the first one answers.
  size_t end = body.find('\n');
  ASSIGN_OR_RETURN(json answer, ParseAnswer("", "lease keepalive", end == std::string::npos ? body : body.substr(0, end)));
  auto result = answer.find("result");
  if (result == answer.end() || !result->is_object()) {
    if (answer.contains("error")) return EtcdError("", "lease keepalive", answer, 200);
    return Status::ProtocolError("etcd: lease keepalive answer has no result");
  }
  return JsonInt(*result, "TTL");
}

Status EtcdMetaStore::RevokeLease(int64_t lease) {
  json req = {{"ID", std::to_string(lease)}};
  auto body = Call("/v3/kv/lease/revoke", req.dump(), "lease revoke");
  if (!body.ok()) {
    if (body.status().message().find("lease not found") != std::string::npos) return Status::Ok();
    return body.status();
  }
  return Status::Ok();
}

void EtcdMetaStore::NoteWrite(int64_t revision) {
  std::lock_guard lock(mu_);
  if (revision > last_write_revision_) last_write_revision_ = revision;
}

int64_t EtcdMetaStore::last_write_revision() const {
  std::lock_guard lock(mu_);
  return last_write_revision_;
}

Status EtcdMetaStore::ScanPrefix(std::string_view prefix, const ScanFn& fn) {
  const std::string full = options_.key_prefix + std::string(prefix);
  const std::string end = PrefixEnd(full);
  // etcd has no empty key; "\0" is the first key there is.
  std::string start = full.empty() ? std::string(1, '\0') : full;
  int64_t revision = 0;  // of the first page; later pages read the same snapshot
  for (;;) {
    json req = {{"key", B64Encode(start)},
                {"range_end", B64Encode(end)},
                {"limit", std::to_string(options_.scan_page_keys)}};
    if (revision > 0) req["revision"] = std::to_string(revision);
    ASSIGN_OR_RETURN(std::string body, Call("/v3/kv/range", req.dump(), "scan"));
    ASSIGN_OR_RETURN(json answer, ParseAnswer("", "scan", body));
    if (revision == 0) {
      auto header = answer.find("header");
      if (header != answer.end() && header->is_object()) revision = JsonInt(*header, "revision");
    }
    auto kvs = answer.find("kvs");
    if (kvs == answer.end() || !kvs->is_array() || kvs->empty()) return Status::Ok();
    std::string key;
    for (const json& kv : *kvs) {
      ASSIGN_OR_RETURN(key, B64Decode(JsonString(kv, "key")));
      ASSIGN_OR_RETURN(std::string value, B64Decode(JsonString(kv, "value")));
      if (key.compare(0, options_.key_prefix.size(), options_.key_prefix) != 0) {
        return Status::Internal("etcd: scan returned a key outside the store's prefix");
      }
      if (!fn(std::string_view(key).substr(options_.key_prefix.size()), value)) return Status::Ok();
    }
    auto more = answer.find("more");
    if (more == answer.end() || !more->is_boolean() || !more->get<bool>()) return Status::Ok();
    start = key + std::string(1, '\0');
  }
}

}  // namespace strata::meta
