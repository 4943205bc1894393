// Helpers shared by the RESP command families: Redis's exact error texts
// (clients match on them), strict number parsing, and typed lookups of keys.
//
// Thread-safety: stateless, except that lookups REQUIRE the key's shard lock.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "cache/protocol/resp/command.h"

namespace strata::cache::resp {

inline constexpr std::string_view kWrongType = "WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr std::string_view kSyntaxError = "ERR syntax error";
inline constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";
inline constexpr std::string_view kNotFloat = "ERR value is not a valid float";
inline constexpr std::string_view kOverflow = "ERR increment or decrement would overflow";
inline constexpr std::string_view kNoSuchKey = "ERR no such key";

bool ParseInt(std::string_view s, int64_t* out);
// As Redis's string2ll: also refuses leading zeros ("01") and "-0".
bool ParseStrictInt(std::string_view s, int64_t* out);
bool ParseDouble(std::string_view s, double* out);
// INCRBYFLOAT/HINCRBYFLOAT work in long double, as Redis. ParseLongDouble is
// Redis's string2ld (strtold: hex and "inf" accepted; no leading space,
// trailing bytes, NaN, overflow or underflow to zero); FormatLongDouble is
// ld2string(LD_STR_HUMAN): "%.17Lf" with trailing zeros and a bare "."
// trimmed and "-0" as "0", so 0.1+0.2 is "0.3" and 1e308 has no exponent.
bool ParseLongDouble(std::string_view s, long double* out);
std::string FormatLongDouble(long double v);
bool IEquals(std::string_view a, std::string_view b);
std::string ToLower(std::string_view s);
std::string FormatInt(int64_t v);

// The reply text for a failed engine call ("OOM ...", "ERR ...").
std::string ErrorText(const Status& s);
void ReplyError(CommandContext& ctx, const Status& s);
void WrongArity(CommandContext& ctx, std::string_view name);
// A subcommand help reply as Redis's addReplyHelp: the "<COMMAND> <subcommand>
// ..." header, `lines`, then HELP's own two lines.
void ReplyHelp(CommandContext& ctx, std::string_view command, std::initializer_list<std::string_view> lines);

// The engine's Find, counted as a keyspace hit or miss when the command is
// a read (CommandContext::read_command), as Redis's lookupKeyRead.
bool FindKey(CommandContext& ctx, std::string_view key, ItemView* out);

enum class Found { kNo, kYes, kWrongType };
// Looks `key` up expecting `type`; on kWrongType the WRONGTYPE error is sent.
Found Lookup(CommandContext& ctx, std::string_view key, ValueType type, ItemView* out);

// Opens the container of `type` at `key`: creates it when missing and
// `create`; returns nullptr when missing (no reply sent) or on error (reply
// sent, *failed set).
ExternalValue* OpenContainer(CommandContext& ctx, std::string_view key, ValueType type, bool create, bool* failed);
template <typename T>
T* Open(CommandContext& ctx, std::string_view key, ValueType type, bool create, bool* failed) {
  return static_cast<T*>(OpenContainer(ctx, key, type, create, failed));
}

// Redis 7.0's encoding names for what the value would be in Redis (its
// small-size thresholds: OBJECT ENCODING); Strata keeps one representation
// per type. HSCAN/SSCAN/ZSCAN answer a "listpack" or "intset" value whole,
// as Redis does.
std::string_view EncodingName(const ItemView& v);

// The cursor argument of the SCAN family, as Redis's parseScanCursorOrReply
// (strtoul: a sign is accepted and "-1" wraps around).
bool ParseScanCursor(std::string_view s, uint64_t* out);
// [MATCH pattern] [COUNT count] of HSCAN/SSCAN/ZSCAN, from args[from..].
struct ScanOptions {
  std::string_view pattern = "*";
  int64_t count = 10;
  bool Matches(std::string_view s) const;
};
// False when the arguments are wrong (the error is sent).
bool ParseScanOptions(CommandContext& ctx, Args args, size_t from, ScanOptions* out);
// The common start of HSCAN/SSCAN/ZSCAN on `key` (its lock held): the
// cursor, the lookup, then the options, in Redis's order. Returns the value,
// or false with the reply sent (a missing key is an empty scan).
bool StartContainerScan(CommandContext& ctx, Args args, std::string_view key, ValueType type, uint64_t* cursor,
                        ScanOptions* options, ItemView* out);
// The SCAN family's reply: the cursor as a bulk string, then `items` flat.
void ReplyScan(CommandContext& ctx, uint64_t cursor, const std::vector<std::string>& items);

// Stores a string, replying the error on failure. Returns success.
bool StoreString(CommandContext& ctx, std::string_view key, std::string_view value, int64_t expire_ms,
                 uint32_t flags = 0);

// Converts a relative or absolute expiry to absolute ms; false on overflow.
bool ExpireAt(CommandContext& ctx, int64_t amount, bool millis, bool absolute, int64_t* out);

}  // namespace strata::cache::resp
