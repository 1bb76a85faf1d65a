// The root key file grammar (extension/keyfile.c, shared by the extension
// and secretsctl). Checks the parser's promises, not only that it survives.
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "keyfile.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (sodium_init() < 0) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<char> buf(data, data + size);
  buf.push_back('\0');  // keyfile_parse takes NUL-terminated text
  KeyFileContents out;
  char err[256];
  std::memset(err, 'x', sizeof err);  // a failure must leave a terminated reason
  int err_line = -1;
  if (!keyfile_parse(buf.data(), &out, err, sizeof err, &err_line)) {
    if (std::memchr(err, '\0', sizeof err) == nullptr || err_line < 0) std::abort();
    return 0;
  }
  if (out.nkeys < 1 || out.nkeys > PGSECRETS_MAX_KEYS) std::abort();
  if (out.active < 0 || out.active >= out.nkeys) std::abort();
  for (int i = 0; i < out.nkeys; ++i) {
    if (out.keys[i].version < 1 || out.keys[i].version > PGSECRETS_KEY_VERSION_MAX) std::abort();
    for (int j = 0; j < i; ++j) {
      if (out.keys[i].version == out.keys[j].version) std::abort();  // duplicates are refused
    }
  }
  return 0;
}
