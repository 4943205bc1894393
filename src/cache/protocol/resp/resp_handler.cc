#include "cache/protocol/resp/resp_handler.h"

#include "cache/protocol/resp/command_util.h"
#include "cache/protocol/resp/keyspace_notify.h"

namespace strata::cache::resp {

namespace {

constexpr size_t kMaxCommandName = 31;
// How long a worker waits for the TxnLock before it looks whether a busy
// script holds it.
constexpr int64_t kBusyPollMs = 20;
constexpr std::string_view kBusy = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";

char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

// FNV-1a over the name with ASCII letters folded to lower case.
uint32_t NameHash(std::string_view name) {
  uint32_t h = 2166136261u;
  for (char c : name) h = (h ^ static_cast<uint8_t>(LowerAscii(c))) * 16777619u;
  return h;
}

// Redis names a container command's subcommand in errors ("config|get").
std::string FullName(const CommandSpec& spec, Args args) {
  static constexpr std::string_view kContainers[] = {"client", "command", "config", "pubsub"};
  std::string name(spec.name);
  for (std::string_view c : kContainers) {
    if (c == spec.name && args.size() > 1 && args[1].size() <= kMaxCommandName) {
      name += "|";
      for (char ch : args[1]) name.push_back(LowerAscii(ch));
    }
  }
  return name;
}

}  // namespace

void CommandTable::Add(const CommandSpec& spec) {
  auto [pos, added] = by_name_.emplace(std::string(spec.name), spec);
  CommandSpec& entry = pos->second;
  uint16_t id = added ? static_cast<uint16_t>(by_name_.size() - 1) : entry.id;
  entry = spec;
  entry.id = id;
  if (slots_.empty()) slots_.resize(kSlots);
  size_t i = NameHash(spec.name) & (kSlots - 1);
  while (!slots_[i].name.empty() && slots_[i].name != spec.name) i = (i + 1) & (kSlots - 1);
  slots_[i] = entry;
}

const CommandSpec* CommandTable::Find(std::string_view name) const {
  if (name.size() > kMaxCommandName || slots_.empty()) return nullptr;
  for (size_t i = NameHash(name) & (kSlots - 1); !slots_[i].name.empty(); i = (i + 1) & (kSlots - 1)) {
    std::string_view candidate = slots_[i].name;
    if (candidate.size() != name.size()) continue;
    size_t j = 0;
    while (j < name.size() && LowerAscii(name[j]) == candidate[j]) j++;
    if (j == name.size()) return &slots_[i];
  }
  return nullptr;
}

CommandTable BuildCommandTable() {
  CommandTable t;
  RegisterStringCommands(t);
  RegisterKeyCommands(t);
  RegisterServerCommands(t);
  RegisterHashCommands(t);
  RegisterListCommands(t);
  RegisterSetCommands(t);
  RegisterZSetCommands(t);
  RegisterGeoCommands(t);
  RegisterTransactionCommands(t);
  RegisterPubSubCommands(t);
  RegisterBitmapCommands(t);
  RegisterHllCommands(t);
  RegisterScriptCommands(t);
  RegisterStreamCommands(t);
  return t;
}

RespHandler::RespHandler(CacheCore* core, const CommandTable* table, uint64_t client_id)
    : core_(core), table_(table) {
  session_.id = client_id;
  session_.authed = core->password().empty();
  limits_.max_bulk_bytes = core->options().max_value_bytes;
}

RespHandler::~RespHandler() {
  DropSubscriptions(core_, &session_);
  for (const WatchedKey& k : session_.txn.watched) core_->watches()->Unwatch(k.key);
}

ProcessOutcome RespHandler::Process(std::string_view in, std::string* out) {
  ProcessOutcome outcome;
  RespWriter w(out);
  uint64_t commands = 0;
  SharedTxnGuard txn(core_->txn_lock());
  txn_guard_ = &txn;
  while (outcome.consumed < in.size()) {
    ParseResult r = ParseCommand(in.substr(outcome.consumed), limits_, &args_);
    if (r.state == ParseState::kIncomplete) break;
    if (r.state == ParseState::kError) {
      w.Error("ERR " + r.error);
      outcome.consumed = in.size();
      outcome.close = true;
      break;
    }
    if (args_.empty()) {
      outcome.consumed += r.consumed;
      continue;
    }
    w.set_protocol(proto_);
    CommandContext ctx{core_, &session_, &w, core_->namespaces()->Get(session_.db)};
    ctx.table = table_;
    ctx.dispatcher = this;
    commands++;
    if (!AcquireUnlessBusy(&txn, args_, ctx)) {
      outcome.consumed += r.consumed;
      continue;
    }
    Execute(args_, ctx);
    if (ctx.block) {
      outcome.blocked = true;
      outcome.block_keys = std::move(ctx.block_keys);
      outcome.block_deadline_ms = ctx.block_deadline_ms;
      break;  // the command stays unconsumed and re-runs on wake-up
    }
    session_.block_deadline_ms = -1;
    outcome.consumed += r.consumed;
    if (w.protocol() != proto_) {
      proto_ = w.protocol();
      session_.pubsub.mailbox->set_protocol(proto_);
    }
    if (ctx.close) {
      outcome.close = true;
      break;
    }
  }
  txn.Release();
  txn_guard_ = nullptr;
  // Shared counters once per batch, not per command (see memcache_handler.h).
  if (commands) core_->metrics().commands_resp->Add(commands);
  if (w.errors()) core_->metrics().errors->Add(w.errors());
  return outcome;
}

// Takes the batch's shared TxnLock. While a script past busy-reply-threshold
// holds it exclusive, the command is answered without it: BUSY, or SCRIPT
// KILL, as Redis does.
bool RespHandler::AcquireUnlessBusy(SharedTxnGuard* txn, Args args, CommandContext& ctx) {
  while (!txn->TryAcquireFor(kBusyPollMs)) {
    if (!core_->scripts()->Busy()) continue;
    if (!session_.authed) {
      ctx.w->Error("NOAUTH Authentication required.");
    } else if (args.size() == 2 && (IEquals(args[0], "script") || IEquals(args[0], "function")) &&
               IEquals(args[1], "kill")) {
      ScriptKill(ctx);
    } else {
      ctx.w->Error(kBusy);
    }
    return false;
  }
  return true;
}

bool RespHandler::Admit(const CommandSpec& spec, Args args, CommandContext& ctx) {
  if (!session_.authed && !(spec.flags & kNoAuth)) {
    ctx.w->Error("NOAUTH Authentication required.");
    return false;
  }
  if ((spec.flags & kContainer) && !ctx.engine()->SupportsContainers()) {
    ctx.w->Error("ERR namespace '" + ctx.ns->DisplayName() +
                 "' uses the persist engine, which stores strings, counters and streams only");
    return false;
  }
  if (spec.flags & (kWrite | kReadOnly)) {
    Status s = ctx.ns->limited() ? ctx.ns->Admit(spec.flags & kWrite) : Status::Ok();
    if (!s.ok()) {
      core_->metrics().rejected_limit->Add();
      ctx.w->Error(s.message().find("quota") != std::string::npos ? "OOM " + s.message() : "ERR " + s.message());
      return false;
    }
    if (spec.first_key > 0 && static_cast<size_t>(spec.first_key) < args.size()) {
      core_->hotkeys()->Record(static_cast<uint8_t>(ctx.ns->id()), args[spec.first_key], spec.flags & kWrite);
    }
  }
  return true;
}

void RespHandler::QueueError(CommandContext& ctx, std::string_view msg) {
  ctx.w->Error(msg);
  if (session_.txn.active) session_.txn.dirty = true;
}

void RespHandler::Execute(Args args, CommandContext& ctx) {
  const CommandSpec* spec = table_->Find(args[0]);
  if (spec == nullptr) {
    std::string msg = "ERR unknown command '" + std::string(args[0].substr(0, 128)) + "', with args beginning with: ";
    for (size_t i = 1; i < args.size() && i < 4; i++) msg += "'" + std::string(args[i].substr(0, 64)) + "' ";
    return QueueError(ctx, msg);
  }
  int n = static_cast<int>(args.size());
  CommandStats* stats = core_->command_stats();
  if ((spec->arity > 0 && n != spec->arity) || (spec->arity < 0 && n < -spec->arity)) {
    stats->Rejected(spec->id);
    return QueueError(ctx, "ERR wrong number of arguments for '" + std::string(spec->name) + "' command");
  }
  if (proto_ == 2 && !(spec->flags & kPubSub) && session_.pubsub.total() > 0) {
    stats->Rejected(spec->id);
    if (!session_.authed && !(spec->flags & kNoAuth)) return QueueError(ctx, "NOAUTH Authentication required.");
    return QueueError(ctx, "ERR Can't execute '" + FullName(*spec, args) +
                               "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
  }
  Transaction& txn = session_.txn;
  if (txn.active && !(spec->flags & kTxnControl)) {
    if (!session_.authed && !(spec->flags & kNoAuth)) return QueueError(ctx, "NOAUTH Authentication required.");
    if (txn.queued.size() >= Transaction::kMaxQueued) {
      return QueueError(ctx, "ERR a transaction holds at most " + std::to_string(Transaction::kMaxQueued) +
                                 " commands");
    }
    txn.queued.emplace_back(args.begin(), args.end());
    return ctx.w->Simple("QUEUED");
  }
  if (!Admit(*spec, args, ctx)) return stats->Rejected(spec->id);
  ctx.read_command = spec->flags & kReadOnly;
  ctx.keyspace_hits = ctx.keyspace_misses = 0;
  const std::string& out = *ctx.w->buffer();
  size_t mark = out.size();
  uint64_t start_us = core_->clock()->NowMicros();
  Run(*spec, args, ctx);
  if (ctx.block) return;  // counted when it runs again and answers
  // An error reply ('-', or a RESP3 blob error '!') means a failed call.
  bool failed = out.size() > mark && (out[mark] == '-' || out[mark] == '!');
  stats->Called(spec->id, core_->clock()->NowMicros() - start_us, failed);
  if (ctx.keyspace_hits | ctx.keyspace_misses) stats->Keyspace(ctx.keyspace_hits, ctx.keyspace_misses);
}

void RespHandler::Run(const CommandSpec& spec, Args args, CommandContext& ctx) {
  if (spec.flags & kExclusive) return RunExclusive(spec, args, ctx);
  uint32_t events = (spec.flags & kWrite) ? core_->keyspace_events.load(std::memory_order_relaxed) : 0;
  if (events != 0) return RunNotifying(spec, args, ctx, events);
  spec.handler(ctx, args);
  if (spec.flags & kWrite) TouchKeys(spec, args, ctx);
}

// A write command while keyspace notifications are on: the notifier looks at
// the keys before and at the reply after (keyspace_notify.h).
void RespHandler::RunNotifying(const CommandSpec& spec, Args args, CommandContext& ctx, uint32_t events) {
  KeyspaceNotifier notifier(ctx, spec.name, args, events);
  size_t mark = ctx.w->buffer()->size();
  spec.handler(ctx, args);
  TouchKeys(spec, args, ctx);
  notifier.After(std::string_view(*ctx.w->buffer()).substr(mark));
}

// Trades the batch's shared TxnLock for the exclusive one around the handler
// (EXEC and scripts). Nothing is queued when EXEC fails early, so that case
// skips the lock, as does a command already inside EXEC or a script. The
// next command of the batch takes the shared lock again.
void RespHandler::RunExclusive(const CommandSpec& spec, Args args, CommandContext& ctx) {
  bool exec_without_multi = (spec.flags & kTxnControl) && !session_.txn.active;
  if (exec_without_multi || ctx.in_exec || txn_guard_ == nullptr) return spec.handler(ctx, args);
  txn_guard_->Release();
  while (!core_->txn_lock()->LockFor(kBusyPollMs)) {
    if (core_->scripts()->Busy()) return ctx.w->Error(kBusy);
  }
  spec.handler(ctx, args);
  core_->txn_lock()->Unlock();
}

void RespHandler::TouchKeys(const CommandSpec& spec, Args args, CommandContext& ctx) {
  WatchRegistry* watches = core_->watches();
  if (watches->watched() == 0 || spec.first_key <= 0) return;
  int n = static_cast<int>(args.size());
  int last = spec.last_key < 0 ? n + spec.last_key : spec.last_key;
  int step = spec.step > 0 ? spec.step : 1;
  for (int i = spec.first_key; i <= last && i < n; i += step) watches->Touch(ctx.Key(args[i]));
}

}  // namespace strata::cache::resp
