// pgsecrets root key files: parsing with extension/keyfile.c (the grammar
// the server uses, compiled into secretsctl), editing (add, activate, remove a version) and
// writing atomically. Key material is never part of an error message and is
// wiped from memory when a KeyFile goes away.
//
//   # comments and blank lines are ignored ('#' starts a comment anywhere)
//   <version> <64 hex digits> [active]
//
// Versions are 1..2147483647, at most 64 keys, at most one "active"; without
// one the highest version is active. A file whose only key line is 64 hex
// digits (`openssl rand -hex 32`) is version 1, active.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "extension/keyfile.h"  // the one key-file grammar and its limits

namespace secretsctl {

inline constexpr int kMaxKeys = PGSECRETS_MAX_KEYS;
inline constexpr std::size_t kKeyBytes = PGSECRETS_KEY_BYTES;

// A parse error: `line` is 1-based (0 for whole-file errors); the message is
// keyfile.c's text without its "line N: " prefix.
class KeyFileError : public std::runtime_error {
 public:
  KeyFileError(int line, const std::string& message)
      : std::runtime_error(message), line_(line) {}
  int line() const noexcept { return line_; }

 private:
  int line_;
};

class KeyFile {
 public:
  // Throws KeyFileError.
  static KeyFile parse(std::string_view text);
  // A new file: a header comment and "1 <hex> active".
  static KeyFile fresh(const std::string& hex_key);

  KeyFile(const KeyFile&) = delete;
  KeyFile& operator=(const KeyFile&) = delete;
  KeyFile(KeyFile&&) = default;
  KeyFile& operator=(KeyFile&&) = default;
  ~KeyFile();

  std::vector<std::uint32_t> versions() const;  // in file order
  std::uint32_t active_version() const;
  bool has_version(std::uint32_t version) const;
  bool has_explicit_active() const;

  // Appends max+1 with hex_key. Unless `activate`, the current active key
  // stays active (made explicit if it was only implicitly active). Returns
  // the new version. Throws std::runtime_error when the file is full or the
  // versions are exhausted.
  std::uint32_t add_key(const std::string& hex_key, bool activate);
  // Marks `version` active and no other. Throws std::out_of_range if absent.
  void activate(std::uint32_t version);
  // Removes `version`. Throws std::out_of_range if absent and
  // std::logic_error if it is the active key.
  void remove(std::uint32_t version);

  // Comments and blank lines are kept; key lines are written as
  // "<version> <hex>[ active]" followed by their comment, if any.
  std::string serialize() const;

 private:
  struct Line {
    std::string raw;      // comment or blank line, verbatim
    bool is_key = false;
    std::uint32_t version = 0;
    std::string hex;      // key material
    bool active = false;  // marked "active" in the file
    std::string comment;  // trailing "# ..." of a key line
  };
  KeyFile() = default;
  const Line* find(std::uint32_t version) const;
  Line* find(std::uint32_t version);

  std::vector<Line> lines_;
};

// 32 fresh random bytes (libsodium) as 64 lower-case hex digits.
std::string generate_key_hex();

// Reads a key file. Throws CliError(kExitBadInput) when it is missing,
// unreadable, not a regular file, larger than 64 KiB, or accessible to other
// users (the server would refuse it), naming the path.
std::string read_key_file(const std::string& path);

struct WriteOptions {
  bool must_not_exist = false;  // fail with EEXIST instead of replacing
  mode_t mode = 0600;           // for a new file; a replaced file keeps its mode (& 0640)
  uid_t uid = static_cast<uid_t>(-1);  // for a new file; -1: the writer's
  gid_t gid = static_cast<gid_t>(-1);
};

// Writes `content` to `path` atomically: a temporary file in the same
// directory, fchmod/fchown (a replaced file keeps its mode and owner),
// write, fsync, rename (or link() when must_not_exist), fsync of the
// directory. Throws CliError(kExitFailure) naming the path and errno text.
void write_file_atomically(const std::string& path, const std::string& content, const WriteOptions& options);

// An exclusive flock on PATH.lock for as long as it lives: every command
// that reads, changes and replaces a key file holds it from the read to the
// rename, so two runs at once cannot both add "version N+1" and lose one
// of the two keys. Waits for the other holder. Throws CliError(kExitFailure).
class KeyFileLock {
 public:
  explicit KeyFileLock(const std::string& key_file_path);
  ~KeyFileLock();
  KeyFileLock(const KeyFileLock&) = delete;
  KeyFileLock& operator=(const KeyFileLock&) = delete;

 private:
  int fd_ = -1;
};

// "path line N: message" or "path: message".
std::string describe(const KeyFileError& error, const std::string& path);

}  // namespace secretsctl
