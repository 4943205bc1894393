// Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH, with Redis's replies
// (multi.c). Queueing itself is the dispatcher's (resp_handler.cc); EXEC runs
// with the server's TxnLock held exclusive, so its commands are atomic with
// respect to every other client on every worker thread and engine shard.
#include "cache/protocol/resp/command_util.h"

namespace strata::cache::resp {

namespace {

void UnwatchAll(CommandContext& ctx, std::vector<WatchedKey>* watched) {
  for (const WatchedKey& k : *watched) ctx.core->watches()->Unwatch(k.key);
  watched->clear();
}

// True when no watched key was written, or expired, since WATCH.
bool WatchesHold(CommandContext& ctx, const std::vector<WatchedKey>& watched) {
  int64_t now = ctx.NowMs();
  for (const WatchedKey& k : watched) {
    if (ctx.core->watches()->Version(k.key) != k.version) return false;
    if (k.expire_ms != 0 && k.expire_ms <= now) return false;
  }
  return true;
}

void Multi(CommandContext& ctx, Args) {
  Transaction& t = ctx.session->txn;
  if (t.active) return ctx.w->Error("ERR MULTI calls can not be nested");
  t.active = true;
  t.dirty = false;
  t.queued.clear();
  ctx.w->Ok();
}

void Discard(CommandContext& ctx, Args) {
  Transaction& t = ctx.session->txn;
  if (!t.active) return ctx.w->Error("ERR DISCARD without MULTI");
  UnwatchAll(ctx, &t.watched);
  t = Transaction{};
  ctx.w->Ok();
}

void Exec(CommandContext& ctx, Args) {
  Transaction& t = ctx.session->txn;
  if (!t.active) return ctx.w->Error("ERR EXEC without MULTI");
  Transaction run = std::move(t);
  t = Transaction{};
  bool watches_hold = WatchesHold(ctx, run.watched);
  UnwatchAll(ctx, &run.watched);
  if (run.dirty) return ctx.w->Error("EXECABORT Transaction discarded because of previous errors.");
  if (!watches_hold) return ctx.w->NullArray();
  ctx.w->Array(run.queued.size());
  std::vector<std::string_view> argv;
  for (const auto& cmd : run.queued) {
    argv.assign(cmd.begin(), cmd.end());
    // Rebuilt per command: a queued SELECT changes the namespace of the rest.
    CommandContext sub{ctx.core, ctx.session, ctx.w, ctx.core->namespaces()->Get(ctx.session->db)};
    sub.table = ctx.table;
    sub.dispatcher = ctx.dispatcher;
    sub.in_exec = true;
    ctx.dispatcher->Dispatch(argv, sub);
    // A blocking command inside a transaction does not block: it times out
    // at once, as in Redis.
    if (sub.block) ctx.w->NullArray();
    ctx.session->block_deadline_ms = -1;
    if (sub.close) ctx.close = true;
  }
}

void Watch(CommandContext& ctx, Args args) {
  Transaction& t = ctx.session->txn;
  if (t.active) return ctx.w->Error("ERR WATCH inside MULTI is not allowed");
  for (size_t i = 1; i < args.size(); i++) {
    std::string key = ctx.Key(args[i]);
    bool already = false;
    for (const WatchedKey& k : t.watched) already = already || k.key == key;
    if (already) continue;
    WatchedKey w;
    {
      KeyLock lock(ctx.engine(), key);
      ItemView v;
      if (ctx.engine()->Find(key, &v)) w.expire_ms = v.expire_ms;
    }
    // Taken after the read: a write racing with WATCH can only make EXEC
    // fail, never let it run over a change it did not see.
    w.version = ctx.core->watches()->Watch(key);
    w.key = std::move(key);
    t.watched.push_back(std::move(w));
  }
  ctx.w->Ok();
}

void Unwatch(CommandContext& ctx, Args) {
  UnwatchAll(ctx, &ctx.session->txn.watched);
  ctx.w->Ok();
}

}  // namespace

void RegisterTransactionCommands(CommandTable& t) {
  t.Add({"multi", 1, kFast | kTxnControl, 0, 0, 0, Multi});
  t.Add({"exec", 1, kTxnControl | kExclusive, 0, 0, 0, Exec});
  t.Add({"discard", 1, kFast | kTxnControl, 0, 0, 0, Discard});
  t.Add({"watch", -2, kFast | kTxnControl, 1, -1, 1, Watch});
  t.Add({"unwatch", 1, kFast, 0, 0, 0, Unwatch});
}

}  // namespace strata::cache::resp
