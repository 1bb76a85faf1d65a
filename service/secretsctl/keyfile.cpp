#include "secretsctl/keyfile.h"

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

#include "crypto/sodium_init.h"
#include "secretsctl/errors.h"

namespace secretsctl {
namespace {

constexpr std::size_t kMaxFileBytes = 65536;  // KEY_SOURCE_MAX_BYTES

void wipe(std::string& s) {
  if (!s.empty()) sodium_memzero(&s[0], s.size());
  s.clear();
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

// The grammar is extension/keyfile.c's, compiled into this program too: the
// server and secretsctl cannot disagree about a key file. This function
// only maps the parsed keys back onto the file's lines, so that comments
// and blank lines survive an edit.
KeyFile KeyFile::parse(std::string_view text) {
  std::string buf(text);  // keyfile_parse splits it in place
  KeyFileContents parsed;
  char err[256];
  int err_line = 0;
  const bool ok = keyfile_parse(buf.data(), &parsed, err, sizeof err, &err_line);
  sodium_memzero(buf.data(), buf.size());
  if (!ok) {
    sodium_memzero(&parsed, sizeof parsed);
    std::string message(err);
    const std::string prefix = "line " + std::to_string(err_line) + ": ";
    if (message.compare(0, prefix.size(), prefix) == 0) message.erase(0, prefix.size());
    throw KeyFileError(err_line, message);
  }
  KeyFile file;
  int lineno = 0;
  for (std::string_view raw : split_lines(text)) {
    ++lineno;
    Line line;
    const KeyFileEntry* entry = nullptr;
    int index = 0;
    for (; index < parsed.nkeys; ++index) {
      if (parsed.keys[index].line == lineno) {
        entry = &parsed.keys[index];
        break;
      }
    }
    if (entry == nullptr) {
      line.raw = std::string(raw);
      file.lines_.push_back(std::move(line));
      continue;
    }
    line.is_key = true;
    line.version = entry->version;
    line.hex.assign(kKeyBytes * 2 + 1, '\0');
    sodium_bin2hex(line.hex.data(), line.hex.size(), entry->key, kKeyBytes);
    line.hex.resize(kKeyBytes * 2);
    line.active = parsed.active_marked && index == parsed.active;
    const auto hash = raw.find('#');
    if (hash != std::string_view::npos) line.comment = std::string(raw.substr(hash));
    file.lines_.push_back(std::move(line));
  }
  sodium_memzero(&parsed, sizeof parsed);
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
