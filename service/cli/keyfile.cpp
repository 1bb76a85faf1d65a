#include "cli/keyfile.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/sodium_init.h"
#include "cli/errors.h"

namespace secretsctl {
namespace {

constexpr std::size_t kMaxFileBytes = 65536;  // KEY_SOURCE_MAX_BYTES
constexpr const char* kExpected = "expected \"<version> <64 hex digits> [active]\"";

void wipe(std::string& s) {
  if (!s.empty()) sodium_memzero(&s[0], s.size());
  s.clear();
}

bool is_hex_key(const std::string& token) {
  return token.size() == kKeyBytes * 2 &&
         std::all_of(token.begin(), token.end(), [](unsigned char c) { return std::isxdigit(c); });
}

std::vector<std::string> split_tokens(std::string_view text) {
  std::vector<std::string> tokens;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r')) ++i;
    std::size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\t' && text[j] != '\r') ++j;
    if (j > i) tokens.emplace_back(text.substr(i, j - i));
    i = j;
  }
  return tokens;
}

// A line counts as a key line unless it is blank or starts (after
// whitespace) with '#', as count_key_lines() in keyring.c decides.
bool counts_as_key_line(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
  return i < line.size() && line[i] != '#';
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t eol = text.find('\n', start);
    if (eol == std::string_view::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, eol - start));
    start = eol + 1;
  }
  return lines;
}

// RAII for a file descriptor.
class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  int release_and_close() {  // closes now, reporting close()'s result
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// Unlinks a temporary file unless dismissed.
class TempFileGuard {
 public:
  explicit TempFileGuard(std::string path) : path_(std::move(path)) {}
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  ~TempFileGuard() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  void dismiss() { path_.clear(); }

 private:
  std::string path_;
};

CliError io_failure(const std::string& what, const std::string& path) {
  return failure(what + " \"" + path + "\": " + std::strerror(errno));
}

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

void write_all(int fd, const std::string& content, const std::string& path) {
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw io_failure("could not write", path);
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

KeyFile::~KeyFile() {
  for (auto& line : lines_) wipe(line.hex);
}

KeyFile KeyFile::parse(std::string_view text) {
  KeyFile file;
  const auto lines = split_lines(text);
  const int key_lines = static_cast<int>(std::count_if(lines.begin(), lines.end(), counts_as_key_line));
  bool saw_active = false;
  int lineno = 0;
  for (std::string_view raw : lines) {
    ++lineno;
    Line line;
    const auto hash = raw.find('#');
    const std::string_view body = raw.substr(0, hash);
    auto tokens = split_tokens(body);
    if (tokens.empty()) {
      line.raw = std::string(raw);
      file.lines_.push_back(std::move(line));
      continue;
    }
    if (tokens.size() > 4) throw KeyFileError(lineno, kExpected);
    line.is_key = true;
    if (hash != std::string_view::npos) line.comment = std::string(raw.substr(hash));
    long version = 0;
    if (tokens.size() == 1 && is_hex_key(tokens[0])) {
      if (key_lines != 1) {
        for (auto& t : tokens) wipe(t);
        throw KeyFileError(lineno,
                           "a bare key is only allowed as the file's only key; write \"<version> <key>\"");
      }
      version = 1;
      line.hex = std::move(tokens[0]);
      line.active = true;
    } else {
      const bool shape_ok = tokens.size() >= 2 && tokens.size() <= 3 &&
                            (tokens.size() == 2 || tokens[2] == "active");
      if (!shape_ok) {
        for (auto& t : tokens) wipe(t);
        throw KeyFileError(lineno, kExpected);
      }
      errno = 0;
      char* end = nullptr;
      version = std::strtol(tokens[0].c_str(), &end, 10);
      if (errno != 0 || *end != '\0' || tokens[0].empty() || version < 1 || version > INT32_MAX) {
        for (auto& t : tokens) wipe(t);
        throw KeyFileError(lineno, "key version must be an integer from 1 to " + std::to_string(INT32_MAX));
      }
      if (!is_hex_key(tokens[1])) {
        for (auto& t : tokens) wipe(t);
        throw KeyFileError(lineno, "a key must be exactly 64 hex digits (32 bytes)");
      }
      line.hex = std::move(tokens[1]);
      line.active = tokens.size() == 3;
    }
    line.version = static_cast<std::uint32_t>(version);
    if (file.find(line.version) != nullptr) {
      wipe(line.hex);
      throw KeyFileError(lineno, "key version " + std::to_string(version) + " appears twice");
    }
    if (file.versions().size() >= static_cast<std::size_t>(kMaxKeys)) {
      wipe(line.hex);
      throw KeyFileError(lineno, "the file holds more than " + std::to_string(kMaxKeys) + " keys");
    }
    if (line.active && saw_active) {
      wipe(line.hex);
      throw KeyFileError(lineno, "more than one key is marked active");
    }
    saw_active = saw_active || line.active;
    file.lines_.push_back(std::move(line));
  }
  if (file.versions().empty()) throw KeyFileError(0, "holds no key");
  return file;
}

KeyFile KeyFile::fresh(const std::string& hex_key) {
  KeyFile file;
  Line header;
  header.raw =
      "# pgsecrets root keys: <version> <64 hex digits> [active]. Keep this file\n"
      "# mode 0600, owned by the PostgreSQL server's user, and backed up:\n"
      "# without it the secrets cannot be decrypted. Edit with secretsctl keys.";
  file.lines_.push_back(std::move(header));
  Line key;
  key.is_key = true;
  key.version = 1;
  key.hex = hex_key;
  key.active = true;
  file.lines_.push_back(std::move(key));
  return file;
}

const KeyFile::Line* KeyFile::find(std::uint32_t version) const {
  for (const auto& line : lines_) {
    if (line.is_key && line.version == version) return &line;
  }
  return nullptr;
}

KeyFile::Line* KeyFile::find(std::uint32_t version) {
  return const_cast<Line*>(static_cast<const KeyFile*>(this)->find(version));
}

std::vector<std::uint32_t> KeyFile::versions() const {
  std::vector<std::uint32_t> out;
  for (const auto& line : lines_) {
    if (line.is_key) out.push_back(line.version);
  }
  return out;
}

bool KeyFile::has_version(std::uint32_t version) const { return find(version) != nullptr; }

bool KeyFile::has_explicit_active() const {
  return std::any_of(lines_.begin(), lines_.end(), [](const Line& l) { return l.is_key && l.active; });
}

std::uint32_t KeyFile::active_version() const {
  std::uint32_t highest = 0;
  for (const auto& line : lines_) {
    if (!line.is_key) continue;
    if (line.active) return line.version;
    highest = std::max(highest, line.version);
  }
  return highest;
}

std::uint32_t KeyFile::add_key(const std::string& hex_key, bool activate_it) {
  const auto all = versions();
  if (all.size() >= static_cast<std::size_t>(kMaxKeys)) {
    throw std::runtime_error("the key file already holds " + std::to_string(kMaxKeys) +
                             " keys; retire old versions first");
  }
  const std::uint32_t highest = all.empty() ? 0 : *std::max_element(all.begin(), all.end());
  if (highest >= static_cast<std::uint32_t>(INT32_MAX)) {
    throw std::runtime_error("key version " + std::to_string(INT32_MAX) + " is already in use");
  }
  if (!activate_it && !all.empty() && !has_explicit_active()) {
    // The highest version is active only implicitly; a new, higher one would
    // silently take over, so say which one stays active.
    find(active_version())->active = true;
  }
  Line line;
  line.is_key = true;
  line.version = highest + 1;
  line.hex = hex_key;
  lines_.push_back(std::move(line));
  if (activate_it) activate(highest + 1);
  return highest + 1;
}

void KeyFile::activate(std::uint32_t version) {
  if (find(version) == nullptr) throw std::out_of_range("key version " + std::to_string(version) + " is not in the key file");
  for (auto& line : lines_) {
    if (line.is_key) line.active = (line.version == version);
  }
}

void KeyFile::remove(std::uint32_t version) {
  if (find(version) == nullptr) throw std::out_of_range("key version " + std::to_string(version) + " is not in the key file");
  if (version == active_version()) {
    throw std::logic_error("key version " + std::to_string(version) + " is the active key; activate another version first");
  }
  for (auto it = lines_.begin(); it != lines_.end(); ++it) {
    if (it->is_key && it->version == version) {
      wipe(it->hex);
      lines_.erase(it);
      return;
    }
  }
}

std::string KeyFile::serialize() const {
  std::string out;
  for (const auto& line : lines_) {
    if (!line.is_key) {
      out += line.raw;
    } else {
      out += std::to_string(line.version);
      out += ' ';
      out += line.hex;
      if (line.active) out += " active";
      if (!line.comment.empty()) {
        out += ' ';
        out += line.comment;
      }
    }
    out += '\n';
  }
  return out;
}

std::string generate_key_hex() {
  secretsd::ensure_sodium_initialized();
  unsigned char key[kKeyBytes];
  randombytes_buf(key, sizeof key);
  char hex[kKeyBytes * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, key, sizeof key);
  std::string out(hex, kKeyBytes * 2);
  sodium_memzero(key, sizeof key);
  sodium_memzero(hex, sizeof hex);
  return out;
}

std::string read_key_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    throw input_error("cannot open key file \"" + path + "\": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw input_error("key file \"" + path + "\" is not a regular file");
  }
  if (st.st_mode & (S_IWGRP | S_IRWXO)) {
    throw input_error("key file \"" + path +
                      "\" is accessible to other users; the server refuses it (chmod 0600 it first)");
  }
  if (static_cast<std::size_t>(st.st_size) > kMaxFileBytes) {
    throw input_error("key file \"" + path + "\" is larger than 64 KiB");
  }
  std::string content(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::read(fd.get(), &content[done], content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      wipe(content);
      throw input_error("cannot read key file \"" + path + "\": " + std::strerror(errno));
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  content.resize(done);
  return content;
}

void write_file_atomically(const std::string& path, const std::string& content, const WriteOptions& options) {
  const std::string dir = directory_of(path);
  mode_t mode = options.mode;
  uid_t uid = options.uid;
  gid_t gid = options.gid;
  struct stat existing {};
  if (::stat(path.c_str(), &existing) == 0) {
    if (options.must_not_exist) {
      errno = EEXIST;
      throw io_failure("refusing to overwrite", path);
    }
    mode = existing.st_mode & 0640;
    uid = existing.st_uid;
    gid = existing.st_gid;
  }

  std::string tmp = dir + "/." + base_of(path) + ".XXXXXX";
  UniqueFd fd(::mkstemp(&tmp[0]));
  if (fd.get() < 0) throw io_failure("could not create a temporary file in", dir);
  TempFileGuard guard(tmp);
  if (::fchmod(fd.get(), mode) != 0) throw io_failure("could not chmod", tmp);
  if ((uid != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1)) &&
      (uid != ::geteuid() || gid != ::getegid()) && ::fchown(fd.get(), uid, gid) != 0) {
    throw io_failure("could not give the key file its owner", tmp);
  }
  write_all(fd.get(), content, tmp);
  if (::fsync(fd.get()) != 0) throw io_failure("could not fsync", tmp);
  if (fd.release_and_close() != 0) throw io_failure("could not close", tmp);

  if (options.must_not_exist) {
    if (::link(tmp.c_str(), path.c_str()) != 0) throw io_failure("could not create", path);
    ::unlink(tmp.c_str());
  } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
    throw io_failure("could not replace", path);
  }
  guard.dismiss();

  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0) ::fsync(dir_fd.get());
}

std::string describe(const KeyFileError& error, const std::string& path) {
  if (error.line() > 0) return "key file \"" + path + "\" line " + std::to_string(error.line()) + ": " + error.what();
  return "key file \"" + path + "\" " + error.what();
}

KeyFileLock::KeyFileLock(const std::string& key_file_path) {
  const std::string lock_path = key_file_path + ".lock";
  // O_NOFOLLOW: the key directory may belong to the server's OS user, which
  // must not be able to point this open at another file.
  fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd_ < 0) throw io_failure("cannot open", lock_path);
  int rc;
  do {
    rc = ::flock(fd_, LOCK_EX);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const CliError error = io_failure("cannot lock", lock_path);
    ::close(fd_);
    throw error;
  }
}

KeyFileLock::~KeyFileLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

}  // namespace secretsctl
