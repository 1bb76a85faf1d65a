// Whether the database can take secretsd's writes, as last observed, and
// one JSON log line each time that changes:
//   {"time":"…","event":"database_lost","reason":"unreachable"}
//   {"time":"…","event":"database_back"}
// Observations come from the connection pool (a failed open or a broken
// connection: lost; a successful open: reachable again) and from /ready
// (read-only, disk full, no root key: lost; every check passed: back), so a
// change is noticed by the first request or readiness probe that meets it.
#pragma once

#include <functional>
#include <mutex>
#include <string>

namespace secretsd::db {

class Availability {
 public:
  // Reasons (fixed words: they are logged).
  static constexpr const char* kUnreachable = "unreachable";
  static constexpr const char* kReadOnly = "read_only";
  static constexpr const char* kWriteFailed = "write_failed";  // e.g. disk full
  static constexpr const char* kNoExtension = "no_extension";
  static constexpr const char* kNoRootKey = "no_root_key";

  // `sink` receives each line (no newline); it must be thread-safe.
  explicit Availability(std::function<void(const std::string&)> sink);

  // Logs database_lost when the database was available.
  void lost(const char* reason);
  // A connection opened: logs database_back when it was lost as unreachable
  // (any other reason is cleared only by back()).
  void reachable();
  // Every readiness check passed: logs database_back when it was lost.
  void back();

  bool available() const;

 private:
  void emit(const char* event, const char* reason);

  std::function<void(const std::string&)> sink_;
  mutable std::mutex mutex_;
  bool available_ = true;  // until something says otherwise
  const char* reason_ = nullptr;
};

}  // namespace secretsd::db
