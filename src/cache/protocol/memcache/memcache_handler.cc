#include "cache/protocol/memcache/memcache_handler.h"

#include <charconv>

namespace strata::cache::memcache {

namespace {

constexpr int64_t kRelativeExpireMax = 60 * 60 * 24 * 30;  // memcached's 30 days

std::vector<McCommandSpec> BuildTable() {
  std::vector<McCommandSpec> t;
  RegisterClassicCommands(&t);
  RegisterMetaCommands(&t);
  RegisterStatsCommands(&t);
  return t;
}

void Tokenize(std::string_view line, std::vector<std::string_view>* out) {
  out->clear();
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') i++;
    size_t start = i;
    while (i < line.size() && line[i] != ' ') i++;
    if (i > start) out->push_back(line.substr(start, i - start));
  }
}

}  // namespace

bool ParseU64(std::string_view s, uint64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

bool ParseI64(std::string_view s, int64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

const McCommandSpec* FindCommand(std::string_view name) {
  static const std::vector<McCommandSpec> table = BuildTable();
  for (const auto& c : table) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

MemcacheHandler::MemcacheHandler(CacheCore* core, uint64_t client_id)
    : core_(core), authenticated_(core->password().empty()) {
  MetricsRegistry* m = core->registry();
  auto counter = [&](const char* op) {
    return m->GetCounter("strata_cache_memcache_ops_total", "memcached protocol operations by outcome",
                         std::string("op=\"") + op + "\"");
  };
  c_ = {counter("cmd_get"), counter("get_hits"), counter("get_misses"), counter("cmd_set"),
        counter("cmd_touch"), counter("delete_hits"), counter("delete_misses"), counter("incr_hits"),
        counter("incr_misses"), counter("cas_hits"), counter("cas_misses"), counter("cas_badval"),
        counter("cmd_flush")};
  (void)client_id;
}

int64_t MemcacheHandler::ExpireFrom(int64_t exptime) const {
  if (exptime == 0) return 0;
  if (exptime < 0) return 1;  // in the past: stored but already expired
  if (exptime > kRelativeExpireMax) return exptime * 1000;
  return core_->NowMs() + exptime * 1000;
}

Namespace* MemcacheHandler::Resolve(McRequest& r, std::string_view key, bool write, std::string* internal) {
  if (key.size() > kMaxKey) {
    r.out->append("CLIENT_ERROR bad command line format\r\n");
    return nullptr;
  }
  std::string_view user;
  Namespace* ns = core_->namespaces()->ForMemcacheKey(key, &user);
  Status s = ns->limited() ? ns->Admit(write) : Status::Ok();
  if (!s.ok()) {
    core_->metrics().rejected_limit->Add();
    r.out->append("SERVER_ERROR " + s.message() + "\r\n");
    return nullptr;
  }
  internal->clear();
  internal->push_back(static_cast<char>(ns->id()));
  internal->append(user);
  core_->hotkeys()->Record(static_cast<uint8_t>(ns->id()), user, write);
  if (write && core_->watches()->watched() > 0) touch_key_ = *internal;
  return ns;
}

void MemcacheHandler::FlushCounts() {
  auto add = [](Counter* c, uint64_t& n) {
    if (n) c->Add(n);
    n = 0;
  };
  add(c_.cmd_get, n_.cmd_get);
  add(c_.get_hits, n_.get_hits);
  add(c_.get_misses, n_.get_misses);
  add(c_.cmd_set, n_.cmd_set);
  add(c_.cmd_touch, n_.cmd_touch);
  add(c_.delete_hits, n_.delete_hits);
  add(c_.delete_misses, n_.delete_misses);
  add(c_.incr_hits, n_.incr_hits);
  add(c_.incr_misses, n_.incr_misses);
  add(c_.cas_hits, n_.cas_hits);
  add(c_.cas_misses, n_.cas_misses);
  add(c_.cas_badval, n_.cas_badval);
  add(c_.cmd_flush, n_.cmd_flush);
  add(core_->metrics().commands_memcache, n_.commands);
  add(core_->metrics().errors, n_.errors);
}

ProcessOutcome MemcacheHandler::Process(std::string_view in, std::string* out) {
  ProcessOutcome o;
  SharedTxnGuard txn(core_->txn_lock());
  if (!in.empty()) txn.Acquire();
  while (o.consumed < in.size()) {
    bool close = false;
    size_t n = ProcessOne(in.substr(o.consumed), out, &close);
    if (close) {
      o.close = true;
      o.consumed = in.size();
      break;
    }
    if (n == 0) break;
    o.consumed += n;
  }
  FlushCounts();
  return o;
}

size_t MemcacheHandler::Authenticate(std::string_view in, size_t consumed, std::string* out, bool* close) {
  static constexpr int64_t kMaxCredentialBytes = 1024;
  auto refuse = [&](std::string_view reply, size_t used) {
    out->append(reply);
    n_.errors++;
    return used;
  };
  if (tokens_[0] == "quit") {
    *close = true;
    return consumed;
  }
  if (tokens_[0] != "set") return refuse("CLIENT_ERROR unauthenticated\r\n", consumed);
  int64_t len;
  if (tokens_.size() < 5 || !ParseI64(tokens_[4], &len) || len < 0) {
    return refuse("CLIENT_ERROR bad command line format\r\n", consumed);
  }
  if (len > kMaxCredentialBytes) {
    *close = true;
    return refuse("CLIENT_ERROR auth token too long\r\n", consumed);
  }
  const size_t n = static_cast<size_t>(len);
  if (in.size() - consumed < n + 2) return 0;
  std::string_view data = in.substr(consumed, n);
  const size_t space = data.find(' ');
  if (in.substr(consumed + n, 2) != "\r\n" || space == std::string_view::npos) {
    return refuse("CLIENT_ERROR bad authentication token format\r\n", consumed + n + 2);
  }
  if (data.substr(space + 1) != core_->password()) {
    return refuse("CLIENT_ERROR authentication failure\r\n", consumed + n + 2);
  }
  authenticated_ = true;
  out->append("STORED\r\n");
  return consumed + n + 2;
}

size_t MemcacheHandler::ProcessOne(std::string_view in, std::string* out, bool* close) {
  if (swallow_ > 0) {
    size_t n = std::min<uint64_t>(swallow_, in.size());
    swallow_ -= n;
    return n;
  }
  if (static_cast<unsigned char>(in[0]) == 0x80) {
    *close = true;  // binary protocol: declined
    return 0;
  }
  size_t nl = in.find('\n');
  if (nl == std::string_view::npos) {
    if (in.size() > kMaxLine) {
      out->append("CLIENT_ERROR line too long\r\n");
      *close = true;
    }
    return 0;
  }
  std::string_view line = in.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t consumed = nl + 1;
  Tokenize(line, &tokens_);
  if (tokens_.empty()) {
    out->append("ERROR\r\n");
    return consumed;
  }
  n_.commands++;
  if (!authenticated_) return Authenticate(in, consumed, out, close);
  const McCommandSpec* spec = FindCommand(tokens_[0]);
  if (spec == nullptr) {
    out->append("ERROR\r\n");
    n_.errors++;
    return consumed;
  }
  if (tokens_.size() < spec->min_tokens) {
    out->append(spec->data_len_token >= 0 || tokens_[0].size() == 2 ? "CLIENT_ERROR bad command line format\r\n" : "ERROR\r\n");
    n_.errors++;
    return consumed;
  }
  McRequest r{this, core_, out, tokens_};
  if (spec->data_len_token >= 0) {
    int64_t len;
    if (!ParseI64(tokens_[spec->data_len_token], &len) || len < 0) {
      out->append("CLIENT_ERROR bad command line format\r\n");
      return consumed;
    }
    if (static_cast<uint64_t>(len) > core_->options().max_value_bytes) {
      out->append("SERVER_ERROR object too large for cache\r\n");
      swallow_ = static_cast<uint64_t>(len) + 2;
      return consumed;
    }
    if (in.size() - consumed < static_cast<size_t>(len) + 2) return 0;
    if (in.substr(consumed + len, 2) != "\r\n") {
      // Resynchronise at the next line end after the announced bytes.
      out->append("CLIENT_ERROR bad data chunk\r\n");
      size_t end = in.find('\n', consumed + static_cast<size_t>(len));
      if (end == std::string_view::npos) return consumed + static_cast<size_t>(len);
      return end + 1;
    }
    r.data = in.substr(consumed, static_cast<size_t>(len));
    consumed += static_cast<size_t>(len) + 2;
  }
  spec->handler(r);
  if (!touch_key_.empty()) {
    core_->watches()->Touch(touch_key_);
    touch_key_.clear();
  }
  *close = r.close;
  return consumed;
}

}  // namespace strata::cache::memcache
