// The runtimes file (service/runtimes/runtimes.cpp: load_runtimes_file),
// which reads a path: the input is handed over as an anonymous memory file
// (/proc/self/fd/N), so nothing touches the disk. Loopback URLs, which the
// file and the API both parse, get the raw input too.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "runtimes/runtimes.h"

using namespace secretsd::runtimes;

namespace {
class MemFile {
 public:
  MemFile() : fd_(memfd_create("runtimes", 0)) {
    if (fd_ < 0) std::abort();
  }
  ~MemFile() { close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }
  void write_all(const uint8_t* data, size_t size) {
    if (ftruncate(fd_, 0) != 0 || lseek(fd_, 0, SEEK_SET) != 0) std::abort();
    while (size > 0) {
      ssize_t n = ::write(fd_, data, size);
      if (n <= 0) std::abort();
      data += n;
      size -= static_cast<size_t>(n);
    }
  }

 private:
  int fd_;
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static MemFile file;
  file.write_all(data, size);
  try {
    RuntimesFile parsed = load_runtimes_file(file.path());
    for (const auto& r : parsed.runtimes) {
      if (r.id.empty() || (r.command.empty() == r.url.empty())) std::abort();
      (void)runtime_json(r).dump();
    }
  } catch (const std::runtime_error&) {
    // the file's one way to refuse
  }
  const std::string url(reinterpret_cast<const char*>(data), size);
  if (auto u = parse_loopback_url(url)) {
    if ((u->host != "127.0.0.1" && u->host != "::1") || u->path.empty() || u->path[0] != '/' ||
        u->port < 1 || u->port > 65535) {
      std::abort();
    }
  }
  return 0;
}
