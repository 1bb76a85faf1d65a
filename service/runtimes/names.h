// Names of settings and runtimes, and the environment variable a setting
// becomes in a runtime's environment.
#pragma once

#include <string>
#include <string_view>

namespace secretsd::settings {

// The reserved household whose integration secrets are the global
// settings' values (migrations/0005_settings_in_keyring.sql).
inline constexpr const char* kGlobalHousehold = "00000000-0000-0000-0000-000000000000";

// ^[A-Za-z][A-Za-z0-9_.-]{0,127}$ (the global_settings CHECK).
bool valid_setting_name(std::string_view name);
// ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ (the runtimes CHECK).
bool valid_runtime_id(std::string_view id);

// "llm.api-key" -> "LLM_API_KEY": upper-cased, every non-alphanumeric '_'.
std::string env_var_name(std::string_view setting_name);

}  // namespace secretsd::settings
