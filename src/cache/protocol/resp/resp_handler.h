// RespHandler: one Redis connection's protocol state — parses commands,
// checks them against the command table (arity, auth, namespace limits),
// runs the handler and encodes the reply in the connection's RESP version.
//
// Errors in the byte stream (bad multibulk header, 1 GiB bulk length,
// unterminated inline line) get one "-ERR Protocol error: ..." reply and close
// the connection, as Redis does; the server is never affected.
//
// Thread-safety: one per connection. Ownership: borrows core and table.
#pragma once

#include <vector>

#include "cache/protocol/handler.h"
#include "cache/protocol/resp/command.h"
#include "cache/protocol/resp/resp_parser.h"

namespace strata::cache::resp {

class RespHandler final : public ProtocolHandler {
 public:
  RespHandler(CacheCore* core, const CommandTable* table, uint64_t client_id);
  ProcessOutcome Process(std::string_view in, std::string* out) override;

 private:
  // Runs one parsed command; false when the connection must close.
  void Execute(Args args, CommandContext& ctx);
  bool Admit(const CommandSpec& spec, Args args, CommandContext& ctx);

  CacheCore* core_;
  const CommandTable* table_;
  Session session_;
  int proto_ = 2;
  ParseLimits limits_;
  std::vector<std::string_view> args_;
};

}  // namespace strata::cache::resp
