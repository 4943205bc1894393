// Config: loading YAML configuration files and parsing human-friendly values.
//
// Each role defines its own options struct and fills it from a ConfigNode,
// so that an unknown key or a value of the wrong type is reported with the
// file's path and the key instead of being ignored.
//
// Thread-safety: value types; no shared state.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include <yaml-cpp/yaml.h>

#include "common/result.h"

namespace strata {

// "4096", "64K", "64KiB", "1M", "4G" -> bytes (powers of 1024).
Result<uint64_t> ParseByteSize(const std::string& text);

// Reads and parses a YAML file; a missing file or a syntax error is an
// InvalidArgument naming the file and the line.
Result<YAML::Node> LoadYamlFile(const std::string& path);

// Typed, checked access to one YAML mapping. Keys read through Get* are
// remembered; CheckNoUnknownKeys() then rejects typos.
class ConfigNode {
 public:
  ConfigNode(YAML::Node node, std::string where) : node_(std::move(node)), where_(std::move(where)) {}

  bool Has(const std::string& key) const { return node_.IsMap() && node_[key]; }
  Status GetString(const std::string& key, std::string* out);
  Status GetInt(const std::string& key, int64_t* out);
  Status GetBool(const std::string& key, bool* out);
  Status GetDouble(const std::string& key, double* out);
  Status GetBytes(const std::string& key, uint64_t* out);  // accepts 64M etc.
  // A non-negative integer into any unsigned field; negative values are an error.
  template <typename T>
  Status GetUint(const std::string& key, T* out) {
    int64_t v = static_cast<int64_t>(*out);
    RETURN_IF_ERROR(GetInt(key, &v));
    if (v < 0) return Fail(key, "must not be negative");
    *out = static_cast<T>(v);
    return Status::Ok();
  }
  // The mapping under `key`; a missing key, or one with nothing under it
  // (`master:` followed only by comments), is an empty mapping.
  Result<ConfigNode> Child(const std::string& key);
  Status CheckNoUnknownKeys() const;
  const YAML::Node& node() const { return node_; }
  const std::string& where() const { return where_; }

 private:
  Status Fail(const std::string& key, const std::string& why) const;
  YAML::Node node_;
  std::string where_;
  std::set<std::string> seen_;
};

}  // namespace strata
