// A setting's validation probe (SECRETSD_RUNTIMES_FILE only): an argv run
// without a shell that reads the candidate value on stdin and exits 0 to
// accept it. Catches "a bad LLM key takes down everything at once" before
// anything is stored or restarted.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "process/child_process.h"

namespace secretsd::providers {

using process::ChildOutcome;

// The probe's environment is minimal plus PGSECRETS_SETTING_NAME; its
// output is discarded (it may echo the value).
process::ChildOutcome run_probe(const std::vector<std::string>& argv,
                                const std::string& setting_name, const std::string& candidate,
                                std::chrono::milliseconds timeout);

}  // namespace secretsd::providers
