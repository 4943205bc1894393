#include "cache/protocol/resp/command_util.h"

#include <cctype>
#include <charconv>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace strata::cache::resp {

bool ParseInt(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  if (s[0] == '+' ) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool ParseStrictInt(std::string_view s, int64_t* out) {
  std::string_view digits = !s.empty() && s[0] == '-' ? s.substr(1) : s;
  if (digits.empty() || (digits[0] == '0' && s.size() > 1)) return false;
  return ParseInt(s, out);
}

bool ParseDouble(std::string_view s, double* out) {
  if (s.empty() || s.size() > 256) return false;
  std::string str(s);
  if (IEquals(str, "inf") || IEquals(str, "+inf") || IEquals(str, "infinity") || IEquals(str, "+infinity")) {
    *out = std::numeric_limits<double>::infinity();
    return true;
  }
  if (IEquals(str, "-inf") || IEquals(str, "-infinity")) {
    *out = -std::numeric_limits<double>::infinity();
    return true;
  }
  if (std::isspace(static_cast<unsigned char>(str[0]))) return false;
  char* end = nullptr;
  double v = std::strtod(str.c_str(), &end);
  if (end != str.c_str() + str.size() || std::isnan(v)) return false;
  *out = v;
  return true;
}

// Redis's MAX_LONG_DOUBLE_CHARS: room for the widest "%.17Lf" of a long double.
constexpr size_t kMaxLongDoubleChars = 5 * 1024;

bool ParseLongDouble(std::string_view s, long double* out) {
  if (s.empty() || s.size() >= kMaxLongDoubleChars) return false;
  std::string buf(s);
  if (std::isspace(static_cast<unsigned char>(buf[0]))) return false;
  errno = 0;
  char* end = nullptr;
  long double v = std::strtold(buf.c_str(), &end);
  if (end != buf.c_str() + buf.size() || std::isnan(v) || errno == EINVAL) return false;
  if (errno == ERANGE && (std::isinf(v) || v == 0)) return false;
  *out = v;
  return true;
}

std::string FormatLongDouble(long double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::string buf(kMaxLongDoubleChars, '\0');
  int n = std::snprintf(buf.data(), buf.size(), "%.17Lf", v);
  if (n <= 0 || static_cast<size_t>(n) >= buf.size()) return "0";
  buf.resize(static_cast<size_t>(n));
  if (buf.find('.') != std::string::npos) {
    while (buf.back() == '0') buf.pop_back();
    if (buf.back() == '.') buf.pop_back();
  }
  if (buf == "-0") buf = "0";
  return buf;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string FormatInt(int64_t v) { return std::to_string(v); }

std::string ErrorText(const Status& s) {
  switch (s.code()) {
    case StatusCode::kResourceExhausted:
      return "OOM " + s.message();
    default:
      return "ERR " + s.message();
  }
}

void ReplyError(CommandContext& ctx, const Status& s) { ctx.w->Error(ErrorText(s)); }

void WrongArity(CommandContext& ctx, std::string_view name) {
  ctx.w->Error("ERR wrong number of arguments for '" + ToLower(name) + "' command");
}

void ReplyHelp(CommandContext& ctx, std::string_view command, std::initializer_list<std::string_view> lines) {
  ctx.w->Array(lines.size() + 3);
  ctx.w->Simple(std::string(command) + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
  for (std::string_view l : lines) ctx.w->Simple(l);
  ctx.w->Simple("HELP");
  ctx.w->Simple("    Prints this help.");
}

std::string_view EncodingName(const ItemView& v) {
  switch (v.type) {
    case ValueType::kString: {
      int64_t n;
      if (v.value.size() <= 20 && ParseStrictInt(v.value, &n)) return "int";
      return v.value.size() <= 44 ? "embstr" : "raw";
    }
    case ValueType::kList: return "quicklist";
    case ValueType::kHash: {
      const auto& m = static_cast<const HashObject*>(v.object)->map();
      if (m.size() > 512) return "hashtable";
      for (const auto& [f, val] : m) {
        if (f.size() > 64 || val.size() > 64) return "hashtable";
      }
      return "listpack";
    }
    case ValueType::kSet: {
      const auto& m = static_cast<const SetObject*>(v.object)->members();
      if (m.size() > 512) return "hashtable";
      for (const auto& e : m) {
        int64_t n;
        if (!ParseStrictInt(e, &n)) return "hashtable";
      }
      return "intset";
    }
    case ValueType::kZSet: {
      const auto* z = static_cast<const ZSetObject*>(v.object);
      if (z->Size() > 128) return "skiplist";
      for (const auto& [score, m] : z->ordered()) {
        if (m.size() > 64) return "skiplist";
      }
      return "listpack";
    }
    case ValueType::kStream: return "stream";
  }
  return "raw";
}

bool ParseScanCursor(std::string_view s, uint64_t* out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  bool negative = s[0] == '-';
  if (s[0] == '-' || s[0] == '+') s.remove_prefix(1);
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return false;
  *out = negative ? ~v + 1 : v;
  return true;
}

bool ScanOptions::Matches(std::string_view s) const { return pattern == "*" || GlobMatch(pattern, s); }

bool ParseScanOptions(CommandContext& ctx, Args args, size_t from, ScanOptions* out) {
  for (size_t i = from; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) return ctx.w->Error(kSyntaxError), false;
    if (IEquals(args[i], "count")) {
      if (!ParseInt(args[i + 1], &out->count)) return ctx.w->Error(kNotInteger), false;
      if (out->count < 1) return ctx.w->Error(kSyntaxError), false;
    } else if (IEquals(args[i], "match")) {
      out->pattern = args[i + 1];
    } else {
      return ctx.w->Error(kSyntaxError), false;
    }
  }
  return true;
}

bool StartContainerScan(CommandContext& ctx, Args args, std::string_view key, ValueType type, uint64_t* cursor,
                        ScanOptions* options, ItemView* out) {
  if (!ParseScanCursor(args[2], cursor)) return ctx.w->Error("ERR invalid cursor"), false;
  Found f = Lookup(ctx, key, type, out);
  if (f == Found::kWrongType) return false;
  if (f == Found::kNo) return ReplyScan(ctx, 0, {}), false;
  return ParseScanOptions(ctx, args, 3, options);
}

void ReplyScan(CommandContext& ctx, uint64_t cursor, const std::vector<std::string>& items) {
  ctx.w->Array(2);
  ctx.w->Bulk(std::to_string(cursor));
  ctx.w->Array(items.size());
  for (const auto& s : items) ctx.w->Bulk(s);
}

bool FindKey(CommandContext& ctx, std::string_view key, ItemView* out) {
  bool found = ctx.engine()->Find(key, out);
  if (ctx.read_command) (found ? ctx.keyspace_hits : ctx.keyspace_misses)++;
  return found;
}

Found Lookup(CommandContext& ctx, std::string_view key, ValueType type, ItemView* out) {
  if (!FindKey(ctx, key, out)) return Found::kNo;
  if (out->type != type) {
    ctx.w->Error(kWrongType);
    return Found::kWrongType;
  }
  return Found::kYes;
}

static std::unique_ptr<ExternalValue> NewContainer(ValueType type) {
  switch (type) {
    case ValueType::kHash: return std::make_unique<HashObject>();
    case ValueType::kList: return std::make_unique<ListObject>();
    case ValueType::kSet: return std::make_unique<SetObject>();
    case ValueType::kZSet: return std::make_unique<ZSetObject>();
    case ValueType::kStream: return std::make_unique<StreamObject>();
    default: return nullptr;
  }
}

ExternalValue* OpenContainer(CommandContext& ctx, std::string_view key, ValueType type, bool create, bool* failed) {
  *failed = false;
  ItemView v;
  Found f = Lookup(ctx, key, type, &v);
  if (f == Found::kWrongType) {
    *failed = true;
    return nullptr;
  }
  if (f == Found::kYes) return v.object;
  if (!create) return nullptr;
  Status s = ctx.engine()->PutObject(key, NewContainer(type), 0);
  if (!s.ok()) {
    ReplyError(ctx, s);
    *failed = true;
    return nullptr;
  }
  ctx.engine()->Find(key, &v);
  return v.object;
}

bool StoreString(CommandContext& ctx, std::string_view key, std::string_view value, int64_t expire_ms,
                 uint32_t flags) {
  std::string_view pieces[] = {value};
  auto r = ctx.engine()->PutString(key, pieces, flags, expire_ms);
  if (!r.ok()) {
    ReplyError(ctx, r.status());
    return false;
  }
  return true;
}

bool ExpireAt(CommandContext& ctx, int64_t amount, bool millis, bool absolute, int64_t* out) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max() / 2;
  if (!millis) {
    if (amount > kMax / 1000 || amount < -kMax / 1000) return false;
    amount *= 1000;
  }
  if (!absolute) {
    if (amount > kMax - ctx.NowMs()) return false;
    amount += ctx.NowMs();
  }
  // An expiry in the past (or 0) still means "expire now", never "no expiry".
  *out = amount <= 0 ? 1 : amount;
  return true;
}

}  // namespace strata::cache::resp
