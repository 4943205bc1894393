#include "common/config.h"

#include <cctype>
#include <fstream>

namespace strata {

Result<uint64_t> ParseByteSize(const std::string& text) {
  if (text.empty()) return Status::InvalidArgument("empty size");
  // Every value that fits in 64 bits parses, however it is written: a size
  // printed in bytes (e.g. 4T as 4398046511104) reads back as itself.
  size_t pos = 0;
  uint64_t n = 0;
  for (; pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])); ++pos) {
    const uint64_t digit = static_cast<uint64_t>(text[pos] - '0');
    if (n > (UINT64_MAX - digit) / 10) return Status::InvalidArgument("size '" + text + "' is too large");
    n = n * 10 + digit;
  }
  if (pos == 0) return Status::InvalidArgument("size '" + text + "' does not start with a number");
  std::string unit = text.substr(pos);
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.size() >= 2 && unit.back() == 'B') unit.pop_back();   // KB, KIB -> K, KI
  if (!unit.empty() && unit.back() == 'I') unit.pop_back();       // KI -> K
  int shift = 0;
  if (unit.empty() || unit == "B") shift = 0;
  else if (unit == "K") shift = 10;
  else if (unit == "M") shift = 20;
  else if (unit == "G") shift = 30;
  else if (unit == "T") shift = 40;
  else return Status::InvalidArgument("size '" + text + "' has an unknown unit (use K, M, G or T)");
  if (shift > 0 && n > (UINT64_MAX >> shift)) return Status::InvalidArgument("size '" + text + "' is too large");
  return n << shift;
}

Result<YAML::Node> LoadYamlFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("config file " + path + " cannot be opened");
  try {
    return YAML::Load(in);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("config file " + path + ": " + e.what());
  }
}

Status ConfigNode::Fail(const std::string& key, const std::string& why) const {
  return Status::InvalidArgument(where_ + ": key '" + key + "': " + why);
}

Status ConfigNode::GetString(const std::string& key, std::string* out) {
  seen_.insert(key);
  if (!Has(key)) return Status::Ok();
  if (!node_[key].IsScalar()) return Fail(key, "expected a string");
  *out = node_[key].as<std::string>();
  return Status::Ok();
}

Status ConfigNode::GetInt(const std::string& key, int64_t* out) {
  seen_.insert(key);
  if (!Has(key)) return Status::Ok();
  try {
    *out = node_[key].as<int64_t>();
  } catch (const YAML::Exception&) {
    return Fail(key, "expected an integer");
  }
  return Status::Ok();
}

Status ConfigNode::GetBool(const std::string& key, bool* out) {
  seen_.insert(key);
  if (!Has(key)) return Status::Ok();
  try {
    *out = node_[key].as<bool>();
  } catch (const YAML::Exception&) {
    return Fail(key, "expected true or false");
  }
  return Status::Ok();
}

Status ConfigNode::GetDouble(const std::string& key, double* out) {
  seen_.insert(key);
  if (!Has(key)) return Status::Ok();
  try {
    *out = node_[key].as<double>();
  } catch (const YAML::Exception&) {
    return Fail(key, "expected a number");
  }
  return Status::Ok();
}

Status ConfigNode::GetBytes(const std::string& key, uint64_t* out) {
  std::string text;
  RETURN_IF_ERROR(GetString(key, &text));
  if (text.empty()) return Status::Ok();
  auto r = ParseByteSize(text);
  if (!r.ok()) return Fail(key, r.status().message());
  *out = *r;
  return Status::Ok();
}

Result<ConfigNode> ConfigNode::Child(const std::string& key) {
  seen_.insert(key);
  // A section with nothing under it (only comments, say) is an empty one.
  if (!Has(key) || node_[key].IsNull()) return ConfigNode(YAML::Node(YAML::NodeType::Map), where_ + "." + key);
  if (!node_[key].IsMap()) return Fail(key, "expected a mapping");
  return ConfigNode(node_[key], where_ + "." + key);
}

Status ConfigNode::CheckNoUnknownKeys() const {
  if (!node_.IsMap()) return Status::Ok();
  for (const auto& kv : node_) {
    // A key that is a sequence or mapping (YAML's `? [a, b]`) names no
    // option; as<std::string>() would throw, and the role would abort.
    if (!kv.first.IsScalar()) return Status::InvalidArgument(where_ + ": a key that is not a plain name");
    auto key = kv.first.as<std::string>();
    if (!seen_.count(key)) return Status::InvalidArgument(where_ + ": unknown key '" + key + "'");
  }
  return Status::Ok();
}

}  // namespace strata
