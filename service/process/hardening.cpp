#include "process/hardening.h"

#include <sys/prctl.h>
#include <sys/resource.h>

namespace secretsd {

bool forbid_core_dumps() {
  const rlimit none{0, 0};
  const bool no_core = ::setrlimit(RLIMIT_CORE, &none) == 0;
  // Also stops a core_pattern pipe helper from getting the image, and makes
  // /proc/self/mem and ptrace root-only.
  const bool not_dumpable = ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0;
  return no_core && not_dumpable;
}

}  // namespace secretsd
