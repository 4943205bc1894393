#include "cache/protocol/resp/resp_parser.h"

#include <cstring>

namespace strata::cache::resp {

namespace {

// Parses a decimal integer terminated by \r\n starting at in[pos]. Returns
// false on malformed input; sets *incomplete when more bytes are needed.
bool ReadNumberLine(std::string_view in, size_t* pos, int64_t* out, bool* incomplete, size_t max_line) {
  size_t nl = in.find("\r\n", *pos);
  if (nl == std::string_view::npos) {
    *incomplete = in.size() - *pos < max_line;
    return false;
  }
  std::string_view digits = in.substr(*pos, nl - *pos);
  if (digits.empty() || digits.size() > 19) return false;
  bool neg = digits[0] == '-';
  if (neg) digits.remove_prefix(1);
  if (digits.empty()) return false;
  int64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = neg ? -v : v;
  *pos = nl + 2;
  return true;
}

ParseResult Error(std::string msg) {
  ParseResult r;
  r.state = ParseState::kError;
  r.error = std::move(msg);
  return r;
}

ParseResult ParseInline(std::string_view in, const ParseLimits& limits, std::vector<std::string_view>* args) {
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
      // Quoted arguments are taken verbatim (no escape processing).
      char q = line[i++];
      size_t end = line.find(q, i);
      if (end == std::string_view::npos) return Error("Protocol error: unbalanced quotes in request");
      args->push_back(line.substr(i, end - i));
      i = end + 1;
    } else {
      size_t start = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') i++;
      args->push_back(line.substr(start, i - start));
    }
  }
  ParseResult r;
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
  bool incomplete = false;
  if (!ReadNumberLine(in, &pos, &n, &incomplete, limits.max_inline_bytes)) {
    if (incomplete) return {};
    return Error("Protocol error: invalid multibulk length");
  }
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
    if (!ReadNumberLine(in, &pos, &len, &incomplete, 32)) {
      if (incomplete) return {};
      return Error("Protocol error: invalid bulk length");
    }
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
