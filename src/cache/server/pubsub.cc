#include "cache/server/pubsub.h"

#include <sstream>

#include "cache/server/cache_core.h"
#include "common/config.h"

namespace strata::cache {

namespace {

void AppendBulk(std::string* out, std::string_view s) {
  out->push_back('$');
  out->append(std::to_string(s.size()));
  out->append("\r\n");
  out->append(s);
  out->append("\r\n");
}

}  // namespace

Result<PubSubLimits> ParsePubSubLimits(const std::string& text) {
  std::istringstream in(text);
  std::string hard, soft, seconds, extra;
  if (!(in >> hard >> soft >> seconds) || (in >> extra)) {
    return Status::InvalidArgument("pubsub buffer limit '" + text + "': expected 'HARD SOFT SECONDS'");
  }
  PubSubLimits l;
  ASSIGN_OR_RETURN(l.hard_bytes, ParseByteSize(hard));
  ASSIGN_OR_RETURN(l.soft_bytes, ParseByteSize(soft));
  uint64_t s = 0;
  for (char c : seconds) {
    if (c < '0' || c > '9' || s > 1'000'000'000) {
      return Status::InvalidArgument("pubsub buffer limit '" + text + "': seconds must be a number");
    }
    s = s * 10 + static_cast<uint64_t>(c - '0');
  }
  l.soft_seconds = s;
  return l;
}

std::string FormatPubSubLimits(const PubSubLimits& l) {
  return std::to_string(l.hard_bytes) + " " + std::to_string(l.soft_bytes) + " " + std::to_string(l.soft_seconds);
}

void Mailbox::SetWake(Wake wake) {
  std::lock_guard<std::mutex> lock(mu_);
  wake_ = std::move(wake);
}

bool Mailbox::Take(std::string* out) {
  std::lock_guard<std::mutex> lock(mu_);
  wake_due_ = true;
  if (overflowed_) return false;
  if (pending_.empty()) return true;
  // Counted as unsent until the connection reports what its socket took.
  unsent_.fetch_add(pending_.size(), std::memory_order_relaxed);
  if (out->empty()) {
    out->swap(pending_);
  } else {
    out->append(pending_);
  }
  pending_.clear();
  if (pending_.capacity() > (1u << 20)) std::string().swap(pending_);
  return true;
}

bool Mailbox::FitsLocked(uint64_t size, const PubSubLimits& limits, uint64_t now_us) {
  uint64_t total = pending_.size() + unsent_.load(std::memory_order_relaxed) + size;
  if (limits.hard_bytes > 0 && total > limits.hard_bytes) return false;
  if (limits.soft_bytes == 0 || total <= limits.soft_bytes) {
    soft_since_us_ = 0;
    return true;
  }
  if (soft_since_us_ == 0) {
    soft_since_us_ = now_us == 0 ? 1 : now_us;
    return true;
  }
  return now_us - soft_since_us_ <= limits.soft_seconds * 1'000'000;
}

void Mailbox::Push(std::string_view kind, const std::string* pattern, std::string_view channel,
                   std::string_view payload, const PubSubLimits& limits, uint64_t now_us) {
  Wake wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (overflowed_) return;
    size_t size = kind.size() + channel.size() + payload.size() + (pattern ? pattern->size() : 0) + 64;
    if (!FitsLocked(size, limits, now_us)) {
      overflowed_ = true;
      std::string().swap(pending_);
    } else {
      pending_.append(proto_.load(std::memory_order_relaxed) == 3 ? ">" : "*");
      pending_.append(pattern ? "4\r\n" : "3\r\n");
      AppendBulk(&pending_, kind);
      if (pattern) AppendBulk(&pending_, *pattern);
      AppendBulk(&pending_, channel);
      AppendBulk(&pending_, payload);
    }
    if (wake_due_ && wake_) {
      wake_due_ = false;
      wake = wake_;
    }
  }
  if (wake) wake();
}

bool Mailbox::overflowed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return overflowed_;
}

uint64_t Mailbox::pending_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.size();
}

PubSubRegistry::PubSubRegistry(const Clock* clock, const PubSubLimits& limits)
    : clock_(clock), hard_bytes_(limits.hard_bytes), soft_bytes_(limits.soft_bytes), soft_seconds_(limits.soft_seconds) {}

PubSubLimits PubSubRegistry::limits() const {
  return PubSubLimits{hard_bytes_.load(), soft_bytes_.load(), soft_seconds_.load()};
}

void PubSubRegistry::set_limits(const PubSubLimits& l) {
  hard_bytes_.store(l.hard_bytes);
  soft_bytes_.store(l.soft_bytes);
  soft_seconds_.store(l.soft_seconds);
}

bool PubSubRegistry::Subscribe(PubSubKind kind, const std::string& name, uint64_t client,
                               std::shared_ptr<Mailbox> box) {
  int k = static_cast<int>(kind);
  std::unique_lock lock(mu_);
  auto [it, new_name] = tables_[k].try_emplace(name);
  bool added = it->second.emplace(client, std::move(box)).second;
  if (new_name) counts_[k].store(tables_[k].size(), std::memory_order_relaxed);
  return added;
}

bool PubSubRegistry::Unsubscribe(PubSubKind kind, const std::string& name, uint64_t client) {
  int k = static_cast<int>(kind);
  std::unique_lock lock(mu_);
  auto it = tables_[k].find(name);
  if (it == tables_[k].end()) return false;
  bool removed = it->second.erase(client) > 0;
  if (it->second.empty()) {
    tables_[k].erase(it);
    counts_[k].store(tables_[k].size(), std::memory_order_relaxed);
  }
  return removed;
}

size_t PubSubRegistry::Deliver(const Subscribers& subs, std::string_view kind, const std::string* pattern,
                               std::string_view channel, std::string_view message, const PubSubLimits& limits,
                               uint64_t now_us) {
  for (const auto& [client, box] : subs) box->Push(kind, pattern, channel, message, limits, now_us);
  return subs.size();
}

size_t PubSubRegistry::Publish(std::string_view channel, std::string_view message) {
  PubSubLimits limits = this->limits();
  uint64_t now_us = clock_->NowMicros();
  size_t receivers = 0;
  std::shared_lock lock(mu_);
  const Table& channels = tables_[static_cast<int>(PubSubKind::kChannel)];
  if (!channels.empty()) {
    auto it = channels.find(std::string(channel));
    if (it != channels.end()) receivers += Deliver(it->second, "message", nullptr, channel, message, limits, now_us);
  }
  for (const auto& [pattern, subs] : tables_[static_cast<int>(PubSubKind::kPattern)]) {
    if (GlobMatch(pattern, channel)) receivers += Deliver(subs, "pmessage", &pattern, channel, message, limits, now_us);
  }
  return receivers;
}

size_t PubSubRegistry::PublishShard(std::string_view channel, std::string_view message) {
  PubSubLimits limits = this->limits();
  uint64_t now_us = clock_->NowMicros();
  std::shared_lock lock(mu_);
  const Table& shard = tables_[static_cast<int>(PubSubKind::kShard)];
  auto it = shard.find(std::string(channel));
  if (it == shard.end()) return 0;
  return Deliver(it->second, "smessage", nullptr, channel, message, limits, now_us);
}

std::vector<std::string> PubSubRegistry::Channels(PubSubKind kind, std::optional<std::string_view> pattern) const {
  std::vector<std::string> out;
  std::shared_lock lock(mu_);
  for (const auto& [name, subs] : tables_[static_cast<int>(kind)]) {
    if (!pattern || GlobMatch(*pattern, name)) out.push_back(name);
  }
  return out;
}

size_t PubSubRegistry::NumSub(PubSubKind kind, const std::string& channel) const {
  std::shared_lock lock(mu_);
  const Table& t = tables_[static_cast<int>(kind)];
  auto it = t.find(channel);
  return it == t.end() ? 0 : it->second.size();
}

size_t PubSubRegistry::Count(PubSubKind kind) const {
  return counts_[static_cast<int>(kind)].load(std::memory_order_relaxed);
}

}  // namespace strata::cache
