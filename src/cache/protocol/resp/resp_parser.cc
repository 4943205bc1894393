#include "cache/protocol/resp/resp_parser.h"

#include <cstring>

namespace strata::cache::resp {

namespace {

enum class NumberLine { kOk, kIncomplete, kBad };

// Parses a decimal integer terminated by \r\n starting at in[*pos], in one
// pass over the bytes (this runs twice or more per request). At most 18
// digits: every legal length is far smaller, and the value cannot overflow.
// kIncomplete when the line may still be completed by more bytes (shorter
// than max_line so far).
NumberLine ReadNumberLine(std::string_view in, size_t* pos, int64_t* out, size_t max_line) {
  const char* begin = in.data() + *pos;
  const char* end = in.data() + in.size();
  const char* p = begin;
  bool neg = p < end && *p == '-';
  if (neg) p++;
  const char* digits = p;
  int64_t v = 0;
  while (p < end && static_cast<unsigned>(*p - '0') < 10) {
    if (p - digits == 18) return NumberLine::kBad;
    v = v * 10 + (*p - '0');
    p++;
  }
  if (p == end || (*p == '\r' && p + 1 == end)) {
    return static_cast<size_t>(end - begin) < max_line ? NumberLine::kIncomplete : NumberLine::kBad;
  }
  if (p == digits || p[0] != '\r' || p[1] != '\n') return NumberLine::kBad;
  *out = neg ? -v : v;
  *pos = static_cast<size_t>(p + 2 - in.data());
  return NumberLine::kOk;
}

ParseResult Error(std::string msg) {
  ParseResult r;
  r.state = ParseState::kError;
  r.error = std::move(msg);
  return r;
}

ParseResult ParseInline(std::string_view in, const ParseLimits& limits, std::vector<std::string_view>* args) {
  ParseResult r;  // returned by name: args may point into r.decoded
  std::deque<std::string>* decoded = &r.decoded;
  size_t nl = in.find('\n');
  if (nl == std::string_view::npos) {
    if (in.size() > limits.max_inline_bytes) return Error("Protocol error: too big inline request");
    return {};
  }
  std::string_view line = in.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) i++;
    if (i >= line.size()) break;
    if (line[i] == '"' || line[i] == '\'') {
      // Quoted as Redis does (sdssplitargs): in double quotes \xHH, \n, \r,
      // \t, \b, \a and \<any> for that byte; in single quotes only \'.
      // The closing quote must end the argument.
      char q = line[i++];
      size_t start = i;
      std::string value;
      bool escaped = false, closed = false;
      while (i < line.size()) {
        char ch = line[i];
        if (ch == q) {
          closed = true;
          i++;
          break;
        }
        if (ch == '\\' && i + 1 < line.size() && (q == '"' || line[i + 1] == '\'')) {
          if (!escaped) value.assign(line.substr(start, i - start));
          escaped = true;
          char e = line[i + 1];
          auto hex = [](char h) { return h >= '0' && h <= '9' ? h - '0' : (h | 0x20) >= 'a' && (h | 0x20) <= 'f' ? (h | 0x20) - 'a' + 10 : -1; };
          if (q == '"' && e == 'x' && i + 3 < line.size() && hex(line[i + 2]) >= 0 && hex(line[i + 3]) >= 0) {
            value.push_back(static_cast<char>(hex(line[i + 2]) * 16 + hex(line[i + 3])));
            i += 4;
            continue;
          }
          switch (q == '"' ? e : '\0') {
            case 'n': value.push_back('\n'); break;
            case 'r': value.push_back('\r'); break;
            case 't': value.push_back('\t'); break;
            case 'b': value.push_back('\b'); break;
            case 'a': value.push_back('\a'); break;
            default: value.push_back(e);
          }
          i += 2;
          continue;
        }
        if (escaped) value.push_back(ch);
        i++;
      }
      if (!closed || (i < line.size() && line[i] != ' ' && line[i] != '\t')) {
        return Error("Protocol error: unbalanced quotes in request");
      }
      if (escaped) {
        decoded->push_back(std::move(value));
        args->push_back(decoded->back());
      } else {
        args->push_back(line.substr(start, i - 1 - start));
      }
    } else {
      size_t start = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') i++;
      args->push_back(line.substr(start, i - start));
    }
  }
  r.state = ParseState::kCommand;
  r.consumed = nl + 1;
  return r;
}

}  // namespace

ParseResult ParseCommand(std::string_view in, const ParseLimits& limits, std::vector<std::string_view>* args) {
  args->clear();
  if (in.empty()) return {};
  if (in[0] != '*') return ParseInline(in, limits, args);
  size_t pos = 1;
  int64_t n = 0;
  NumberLine nl = ReadNumberLine(in, &pos, &n, limits.max_inline_bytes);
  if (nl == NumberLine::kIncomplete) return {};
  if (nl == NumberLine::kBad) return Error("Protocol error: invalid multibulk length");
  if (n > static_cast<int64_t>(limits.max_args)) return Error("Protocol error: invalid multibulk length");
  if (n <= 0) {
    ParseResult r;
    r.state = ParseState::kCommand;
    r.consumed = pos;
    return r;
  }
  args->reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i++) {
    if (pos >= in.size()) return {};
    if (in[pos] != '$') {
      return Error(std::string("Protocol error: expected '$', got '") + in[pos] + "'");
    }
    pos++;
    int64_t len = 0;
    nl = ReadNumberLine(in, &pos, &len, 32);
    if (nl == NumberLine::kIncomplete) return {};
    if (nl == NumberLine::kBad) return Error("Protocol error: invalid bulk length");
    if (len < 0 || static_cast<uint64_t>(len) > limits.max_bulk_bytes) {
      return Error("Protocol error: invalid bulk length");
    }
    if (in.size() - pos < static_cast<size_t>(len) + 2) return {};
    if (in[pos + len] != '\r' || in[pos + len + 1] != '\n') return Error("Protocol error: bulk not terminated by CRLF");
    args->push_back(in.substr(pos, static_cast<size_t>(len)));
    pos += static_cast<size_t>(len) + 2;
  }
  ParseResult r;
  r.state = ParseState::kCommand;
  r.consumed = pos;
  return r;
}

}  // namespace strata::cache::resp
