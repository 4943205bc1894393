// RespWriter: encodes replies in RESP2 or RESP3 (chosen per connection by
// HELLO) into an output buffer. RESP3-only types degrade the way Redis does
// for RESP2 clients: maps become flat arrays, doubles become bulk strings,
// sets become arrays, and every null becomes "$-1" (or "*-1" for arrays).
//
// Thread-safety: one writer per connection, used by its worker thread.
// Ownership: borrows the output buffer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace strata::cache::resp {

class RespWriter {
 public:
  explicit RespWriter(std::string* out) : out_(out) {}
  void set_protocol(int v) { proto_ = v; }
  int protocol() const { return proto_; }
  std::string* buffer() { return out_; }

  void Ok() { out_->append("+OK\r\n"); }
  void Simple(std::string_view s);
  // `msg` is the whole error text including its code ("ERR ...", "WRONGTYPE ...").
  void Error(std::string_view msg);
  void Integer(int64_t v);
  void Bulk(std::string_view s);
  void Null();
  void NullArray();
  void Array(size_t n);
  void Map(size_t pairs);
  void Set(size_t n);
  // An out-of-band message (pub/sub): ">" in RESP3, an array in RESP2.
  void Push(size_t n);
  void Double(double v);
  // A double already formatted (GEOPOS's coordinates): bulk in RESP2, ','
  // in RESP3.
  void DoubleText(std::string_view s);
  void Bool(bool v);
  // "Verbatim" text (INFO, CLIENT LIST): bulk in RESP2, "=txt:" in RESP3.
  void Verbatim(std::string_view s);

  uint64_t errors() const { return errors_; }

 private:
  std::string* out_;
  int proto_ = 2;
  uint64_t errors_ = 0;
};

// Formats a double the way Redis does in replies (%.17g, inf/-inf).
std::string FormatDouble(double v);

}  // namespace strata::cache::resp
