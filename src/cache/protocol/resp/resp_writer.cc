#include "cache/protocol/resp/resp_writer.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace strata::cache::resp {

namespace {
void AppendInt(std::string* out, int64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, p);
}
}  // namespace

std::string FormatDouble(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  // Redis 7.0's addReplyDouble and d2string: "%.17g" (0.1 is
  // "0.10000000000000001"), integers below 2^52 in full and -0 as "0".
  if (v > -4503599627370495.0 && v < 4503599627370496.0 && v == static_cast<double>(static_cast<int64_t>(v))) {
    char buf[24];
    auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(v));
    return std::string(buf, p);
  }
  char buf[64];
  int n = std::snprintf(buf, sizeof(buf), "%.17g", v);
  return std::string(buf, static_cast<size_t>(n));
}

void RespWriter::Simple(std::string_view s) {
  out_->push_back('+');
  out_->append(s);
  out_->append("\r\n");
}

void RespWriter::Error(std::string_view msg) {
  errors_++;
  out_->push_back('-');
  // An error line must not contain CR/LF; clients would desynchronise.
  for (char c : msg) out_->push_back(c == '\r' || c == '\n' ? ' ' : c);
  out_->append("\r\n");
}

void RespWriter::Integer(int64_t v) {
  out_->push_back(':');
  AppendInt(out_, v);
  out_->append("\r\n");
}

void RespWriter::Bulk(std::string_view s) {
  out_->push_back('$');
  AppendInt(out_, static_cast<int64_t>(s.size()));
  out_->append("\r\n");
  out_->append(s);
  out_->append("\r\n");
}

void RespWriter::Null() { out_->append(proto_ == 3 ? "_\r\n" : "$-1\r\n"); }
void RespWriter::NullArray() { out_->append(proto_ == 3 ? "_\r\n" : "*-1\r\n"); }

void RespWriter::Array(size_t n) {
  out_->push_back('*');
  AppendInt(out_, static_cast<int64_t>(n));
  out_->append("\r\n");
}

void RespWriter::Push(size_t n) {
  out_->push_back(proto_ == 3 ? '>' : '*');
  AppendInt(out_, static_cast<int64_t>(n));
  out_->append("\r\n");
}

void RespWriter::Map(size_t pairs) {
  out_->push_back(proto_ == 3 ? '%' : '*');
  AppendInt(out_, static_cast<int64_t>(proto_ == 3 ? pairs : pairs * 2));
  out_->append("\r\n");
}

void RespWriter::Set(size_t n) {
  out_->push_back(proto_ == 3 ? '~' : '*');
  AppendInt(out_, static_cast<int64_t>(n));
  out_->append("\r\n");
}

void RespWriter::Double(double v) { DoubleText(FormatDouble(v)); }

void RespWriter::DoubleText(std::string_view s) {
  if (proto_ == 3) {
    out_->push_back(',');
    out_->append(s);
    out_->append("\r\n");
  } else {
    Bulk(s);
  }
}

void RespWriter::Bool(bool v) {
  if (proto_ == 3) out_->append(v ? "#t\r\n" : "#f\r\n");
  else Integer(v ? 1 : 0);
}

void RespWriter::Verbatim(std::string_view s) {
  if (proto_ != 3) return Bulk(s);
  out_->push_back('=');
  AppendInt(out_, static_cast<int64_t>(s.size() + 4));
  out_->append("\r\ntxt:");
  out_->append(s);
  out_->append("\r\n");
}

}  // namespace strata::cache::resp
