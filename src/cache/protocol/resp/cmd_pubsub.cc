// Pub/sub: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, the
// sharded SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH, and PUBSUB CHANNELS | NUMSUB |
// NUMPAT | SHARDCHANNELS | SHARDNUMSUB, with Redis 7's replies (pubsub.c).
// Delivery across worker threads and the output-buffer limit are the
// registry's and the mailbox's (server/pubsub.h); the subscribed-mode rule
// for RESP2 is the dispatcher's (resp_handler.cc).
//
// Ordering on one connection: SUBSCRIBE registers and then replies, so every
// message of the new channel comes after the confirmation; UNSUBSCRIBE
// unregisters, moves the messages already delivered into the output, and
// then replies, so nothing of the channel follows the confirmation.
#include <optional>

#include "cache/protocol/resp/command_util.h"

namespace strata::cache::resp {

namespace {

// What one family of (un)subscribe commands works on.
struct Family {
  PubSubKind kind;
  std::string_view subscribe, unsubscribe;  // reply kinds
};
constexpr Family kChannels{PubSubKind::kChannel, "subscribe", "unsubscribe"};
constexpr Family kPatterns{PubSubKind::kPattern, "psubscribe", "punsubscribe"};
constexpr Family kShards{PubSubKind::kShard, "ssubscribe", "sunsubscribe"};

std::set<std::string>& Names(Session* s, PubSubKind kind) {
  switch (kind) {
    case PubSubKind::kChannel: return s->pubsub.channels;
    case PubSubKind::kPattern: return s->pubsub.patterns;
    case PubSubKind::kShard: break;
  }
  return s->pubsub.shard_channels;
}

// The count in a (un)subscribe reply: channels and patterns together, shard
// channels on their own (Redis's clientSubscriptionsCount and
// clientShardSubscriptionsCount).
int64_t ReplyCount(const Session* s, PubSubKind kind) {
  if (kind == PubSubKind::kShard) return static_cast<int64_t>(s->pubsub.shard_channels.size());
  return static_cast<int64_t>(s->pubsub.channels.size() + s->pubsub.patterns.size());
}

void Confirm(CommandContext& ctx, std::string_view kind, const std::string* name, PubSubKind family) {
  ctx.w->Push(3);
  ctx.w->Bulk(kind);
  if (name) ctx.w->Bulk(*name);
  else ctx.w->Null();
  ctx.w->Integer(ReplyCount(ctx.session, family));
}

// Messages already delivered go out before what this command replies —
// except inside EXEC, whose reply array they would break; they follow it.
void DrainPushes(CommandContext& ctx) {
  if (!ctx.in_exec) (void)ctx.session->pubsub.mailbox->Take(ctx.w->buffer());
}

void SubscribeTo(CommandContext& ctx, Args args, const Family& f) {
  DrainPushes(ctx);
  std::set<std::string>& names = Names(ctx.session, f.kind);
  for (size_t i = 1; i < args.size(); i++) {
    std::string name(args[i]);
    if (names.insert(name).second) {
      ctx.core->pubsub()->Subscribe(f.kind, name, ctx.session->id, ctx.session->pubsub.mailbox);
    }
    Confirm(ctx, f.subscribe, &name, f.kind);
  }
}

void UnsubscribeFrom(CommandContext& ctx, Args args, const Family& f) {
  std::set<std::string>& names = Names(ctx.session, f.kind);
  std::vector<std::string> which;
  if (args.size() > 1) which.assign(args.begin() + 1, args.end());
  else which.assign(names.begin(), names.end());
  for (const std::string& name : which) {
    if (names.count(name) > 0) ctx.core->pubsub()->Unsubscribe(f.kind, name, ctx.session->id);
  }
  DrainPushes(ctx);
  for (const std::string& name : which) {
    names.erase(name);  // each reply carries the count after it
    Confirm(ctx, f.unsubscribe, &name, f.kind);
  }
  if (which.empty()) Confirm(ctx, f.unsubscribe, nullptr, f.kind);
}

void Subscribe(CommandContext& ctx, Args args) { SubscribeTo(ctx, args, kChannels); }
void Unsubscribe(CommandContext& ctx, Args args) { UnsubscribeFrom(ctx, args, kChannels); }
void PSubscribe(CommandContext& ctx, Args args) { SubscribeTo(ctx, args, kPatterns); }
void PUnsubscribe(CommandContext& ctx, Args args) { UnsubscribeFrom(ctx, args, kPatterns); }
void SSubscribe(CommandContext& ctx, Args args) { SubscribeTo(ctx, args, kShards); }
void SUnsubscribe(CommandContext& ctx, Args args) { UnsubscribeFrom(ctx, args, kShards); }

void Publish(CommandContext& ctx, Args args) {
  ctx.core->metrics().pubsub_messages->Add();
  ctx.w->Integer(static_cast<int64_t>(ctx.core->pubsub()->Publish(args[1], args[2])));
}

void SPublish(CommandContext& ctx, Args args) {
  ctx.core->metrics().pubsub_messages->Add();
  ctx.w->Integer(static_cast<int64_t>(ctx.core->pubsub()->PublishShard(args[1], args[2])));
}

void ChannelList(CommandContext& ctx, Args args, PubSubKind kind) {
  std::optional<std::string_view> pattern;
  if (args.size() == 3) pattern = args[2];
  std::vector<std::string> names = ctx.core->pubsub()->Channels(kind, pattern);
  ctx.w->Array(names.size());
  for (const std::string& n : names) ctx.w->Bulk(n);
}

void NumSub(CommandContext& ctx, Args args, PubSubKind kind) {
  ctx.w->Array(2 * (args.size() - 2));
  for (size_t i = 2; i < args.size(); i++) {
    ctx.w->Bulk(args[i]);
    ctx.w->Integer(static_cast<int64_t>(ctx.core->pubsub()->NumSub(kind, std::string(args[i]))));
  }
}

constexpr const char* kPubSubHelp[] = {
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
};

void PubSub(CommandContext& ctx, Args args) {
  std::string sub = ToLower(args[1]);
  size_t n = args.size();
  auto arity_error = [&] { ctx.w->Error("ERR wrong number of arguments for 'pubsub|" + sub + "' command"); };
  if (sub == "channels" || sub == "shardchannels") {
    if (n > 3) {
      return ctx.w->Error("ERR unknown subcommand or wrong number of arguments for '" +
                          std::string(args[1]) + "'. Try PUBSUB HELP.");
    }
    return ChannelList(ctx, args, sub == "channels" ? PubSubKind::kChannel : PubSubKind::kShard);
  }
  if (sub == "numsub" || sub == "shardnumsub") {
    return NumSub(ctx, args, sub == "numsub" ? PubSubKind::kChannel : PubSubKind::kShard);
  }
  if (sub == "numpat") {
    if (n != 2) return arity_error();
    return ctx.w->Integer(static_cast<int64_t>(ctx.core->pubsub()->Count(PubSubKind::kPattern)));
  }
  if (sub == "help" && n == 2) {
    ctx.w->Array(std::size(kPubSubHelp));
    for (const char* line : kPubSubHelp) ctx.w->Simple(line);
    return;
  }
  ctx.w->Error("ERR unknown subcommand '" + std::string(args[1].substr(0, 128)) + "'. Try PUBSUB HELP.");
}

}  // namespace

void DropSubscriptions(CacheCore* core, Session* session) {
  PubSubState& p = session->pubsub;
  for (const std::string& name : p.channels) core->pubsub()->Unsubscribe(PubSubKind::kChannel, name, session->id);
  for (const std::string& name : p.patterns) core->pubsub()->Unsubscribe(PubSubKind::kPattern, name, session->id);
  for (const std::string& name : p.shard_channels) core->pubsub()->Unsubscribe(PubSubKind::kShard, name, session->id);
  p.channels.clear();
  p.patterns.clear();
  p.shard_channels.clear();
}

void RegisterPubSubCommands(CommandTable& t) {
  t.Add({"subscribe", -2, kPubSub, 0, 0, 0, Subscribe});
  t.Add({"unsubscribe", -1, kPubSub, 0, 0, 0, Unsubscribe});
  t.Add({"psubscribe", -2, kPubSub, 0, 0, 0, PSubscribe});
  t.Add({"punsubscribe", -1, kPubSub, 0, 0, 0, PUnsubscribe});
  t.Add({"ssubscribe", -2, kPubSub, 1, -1, 1, SSubscribe});
  t.Add({"sunsubscribe", -1, kPubSub, 1, -1, 1, SUnsubscribe});
  t.Add({"publish", 3, kFast, 0, 0, 0, Publish});
  t.Add({"spublish", 3, kFast, 1, 1, 1, SPublish});
  t.Add({"pubsub", -2, 0, 0, 0, 0, PubSub});
}

}  // namespace strata::cache::resp
