// Files and directories for tests: whole-file reads and per-test temporary
// directories that are removed after a passing run and kept after a failure.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tapir::testing {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Trailing newlines and blanks removed.
inline std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// Removes the tests' directories after a fully passing run; after a failure
// they stay for inspection (logs, databases, spool files).
class TempCleanup : public ::testing::Environment {
 public:
  static std::vector<std::string>& dirs() {
    static std::vector<std::string> d;
    return d;
  }
  void TearDown() override {
    if (!::testing::UnitTest::GetInstance()->Passed()) return;
    std::error_code ec;
    for (const auto& d : dirs()) std::filesystem::remove_all(d, ec);
  }
};
inline ::testing::Environment* const kTempCleanup =
    ::testing::AddGlobalTestEnvironment(new TempCleanup);

// A fresh, empty directory under the build tree, unique per call.
inline std::string temp_dir(const std::string& name) {
  static int calls = 0;
  auto d = std::filesystem::path(TAPIR_BINARY_DIR) / "tests" / "tmp" /
           (name + "-" + std::to_string(::getpid()) + "-" + std::to_string(++calls));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  TempCleanup::dirs().push_back(d.string());
  return d.string();
}

}  // namespace tapir::testing
