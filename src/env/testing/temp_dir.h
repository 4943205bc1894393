// TempDir: a fresh, uniquely named directory for one test (mkdtemp under
// /tmp), removed with everything in it when the TempDir is destroyed.
//
// Thread-safety: immutable after construction. Ownership: owns the directory.
#pragma once

#include <string>

namespace strata {

class TempDir {
 public:
  // /tmp/<prefix>.XXXXXX; the test fails (and path() is empty) if it
  // cannot be created.
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace strata
