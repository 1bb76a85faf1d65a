// Keeps what secretsd and secretsctl hold in memory (AUTH_SECRET_KEY, the
// admin key, root keys being written, decrypted values in flight) out of
// crash output: no core file, and no ptrace or /proc/PID/mem access by other
// processes of the same user.
#pragma once

namespace secretsd {

// Call first thing in main(). Returns false if the kernel refused (the
// process still runs; the caller may warn).
bool forbid_core_dumps();

}  // namespace secretsd
