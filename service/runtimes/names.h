// Names of settings and runtimes, and the environment variable a setting
// becomes in a runtime's environment. The one grammar of a setting name:
// runtimes validate the names they consume with it, and providers/ the
// names it stores (through runtimes/module.h).
#pragma once

#include <string>
#include <string_view>

namespace secretsd::runtimes {

// ^[A-Za-z][A-Za-z0-9_.-]{0,127}$ (the global_settings CHECK).
bool valid_setting_name(std::string_view name);
// ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ (the runtimes CHECK).
bool valid_runtime_id(std::string_view id);

// "llm.api-key" -> "LLM_API_KEY": upper-cased, every non-alphanumeric '_'.
std::string env_var_name(std::string_view setting_name);

}  // namespace secretsd::runtimes
