// RespParser: splits a byte stream into Redis commands (RESP2 multibulk
// "*<n>\r\n$<len>\r\n<bytes>\r\n..." or an inline command line), as
// described in https://redis.io/docs/reference/protocol-spec/.
//
// The parser never copies: arguments are views into the caller's buffer and
// stay valid until the caller drops the consumed bytes. Every length read
// from the wire is checked against a limit before anything is buffered, so a
// "$1073741824" header or an endless line is refused at once with an error
// the server sends back before closing the connection (as Redis does).
//
// Thread-safety: stateless functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace strata::cache::resp {

struct ParseLimits {
  uint64_t max_bulk_bytes = 64ull << 20;
  uint64_t max_args = 1u << 20;
  size_t max_inline_bytes = 64 * 1024;
};

enum class ParseState { kIncomplete, kCommand, kError };

struct ParseResult {
  ParseState state = ParseState::kIncomplete;
  size_t consumed = 0;        // bytes of the command (or 0)
  std::string error;          // for kError: the text after "-ERR "
  // Inline arguments with escapes ("a\x41\n"), decoded; args point here, so
  // they are valid while this result lives (deque: elements never move).
  std::deque<std::string> decoded;
};

// Parses one command from the start of `in` into `args` (cleared first).
// An empty inline line is consumed and reported as a command with no args.
ParseResult ParseCommand(std::string_view in, const ParseLimits& limits, std::vector<std::string_view>* args);

}  // namespace strata::cache::resp
