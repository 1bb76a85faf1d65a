// Seed manifests (service/secretsctl/manifest.cpp): the JSON `secretsctl seed`
// reads. Bad input must end in CliError(kExitBadInput), nothing else.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "secretsctl/errors.h"
#include "secretsctl/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    auto file = secretsctl::parse_manifest(text, "fuzz.json");
    for (const auto& command : file.commands) (void)command.manifest.dump();
  } catch (const secretsctl::CliError& e) {
    if (e.code() != secretsctl::kExitBadInput) std::abort();
  }
  return 0;
}
