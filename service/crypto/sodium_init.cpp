#include "crypto/sodium_init.h"

#include <mutex>
#include <stdexcept>

#include <sodium.h>

namespace secretsd {

void ensure_sodium_initialized() {
  static std::once_flag once;
  std::call_once(once, [] {
    // sodium_init() returns 1 when already initialised (e.g. by a library).
    if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
  });
}

}  // namespace secretsd
