#include "secretsctl/manifest.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "secretsctl/errors.h"

namespace secretsctl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string stem_of(const std::string& path) { return fs::path(path).stem().string(); }

// 1-based line and column of byte offset `pos` (nlohmann reports the offset
// just past the offending character).
std::pair<std::size_t, std::size_t> line_column(const std::string& text, std::size_t pos) {
  std::size_t line = 1;
  std::size_t column = 1;
  const std::size_t end = std::min(pos == 0 ? 0 : pos - 1, text.size());
  for (std::size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

// nlohmann's message, minus the "[json.exception...] parse error at ...: "
// prefix and the "last read: '...'" part, which would quote the file.
std::string parse_reason(const std::string& what) {
  std::string reason = what;
  if (const auto colon = reason.find(": "); colon != std::string::npos) reason.erase(0, colon + 2);
  if (const auto last = reason.find("; last read"); last != std::string::npos) reason.erase(last);
  return reason;
}

CliError bad_manifest(const std::string& path, const std::string& message) {
  return input_error(path + ": " + message);
}

std::string string_or(const json& object, const char* field, const std::string& fallback) {
  const auto it = object.find(field);
  return (it != object.end() && it->is_string()) ? it->get<std::string>() : fallback;
}

SecretDecl parse_declaration(const json& d, const std::string& path, const std::string& where) {
  if (!d.is_object() || !d.contains("key") || !d["key"].is_string()) {
    throw bad_manifest(path, where + ": \"key\" must be a string");
  }
  for (const char* field : {"required", "is_sensitive"}) {
    if (d.contains(field) && !d[field].is_boolean()) {
      throw bad_manifest(path, where + ": \"" + std::string(field) + "\" must be a boolean");
    }
  }
  for (const char* field : {"scope", "value_type", "node_id", "description", "friendly_name"}) {
    if (d.contains(field) && !d[field].is_string() && !d[field].is_null()) {
      throw bad_manifest(path, where + ": \"" + std::string(field) + "\" must be a string");
    }
  }
  SecretDecl decl;
  decl.key = d["key"].get<std::string>();
  decl.scope = string_or(d, "scope", decl.scope);
  decl.value_type = string_or(d, "value_type", decl.value_type);
  decl.node_id = string_or(d, "node_id", "");
  decl.required = d.value("required", true);
  return decl;
}

// The secrets list of a command object, preferring all_possible_secrets,
// then secrets, then required_secrets (seed_secrets' order).
const json* secrets_list(const json& command) {
  for (const char* field : {"all_possible_secrets", "secrets", "required_secrets"}) {
    const auto it = command.find(field);
    if (it != command.end()) return &*it;
  }
  return nullptr;
}

CommandDecl parse_command(const json& command, const std::string& path, const std::string& fallback_name) {
  CommandDecl out;
  out.name = string_or(command, "command", string_or(command, "name", fallback_name));
  out.manifest = command;
  const json* list = secrets_list(command);
  if (list == nullptr) return out;
  if (!list->is_array()) throw bad_manifest(path, "command \"" + out.name + "\": its secrets must be a JSON array");
  std::size_t i = 0;
  for (const auto& d : *list) {
    ++i;
    out.secrets.push_back(parse_declaration(d, path, "command \"" + out.name + "\" secret " + std::to_string(i)));
  }
  return out;
}

}  // namespace

ManifestFile parse_manifest(const std::string& text, const std::string& path) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    const auto [line, column] = line_column(text, e.byte);
    throw bad_manifest(path, "invalid JSON at line " + std::to_string(line) + ", column " + std::to_string(column) +
                                 ": " + parse_reason(e.what()));
  } catch (const json::out_of_range&) {
    // A number beyond a double (1e999): nlohmann throws out_of_range, not
    // parse_error, and its message quotes the number from the file.
    throw bad_manifest(path, "invalid JSON: a number is out of range");
  }
  if (!doc.is_array() && !doc.is_object()) throw bad_manifest(path, "a manifest must be a JSON array or object");

  ManifestFile file;
  file.path = path;
  const json entries = doc.is_array() ? doc : json::array({doc});
  CommandDecl loose;  // top-level declarations belong to a command named after the file
  loose.name = stem_of(path);
  loose.manifest = json::array();
  std::size_t i = 0;
  for (const auto& entry : entries) {
    ++i;
    if (!entry.is_object()) throw bad_manifest(path, "manifest entry " + std::to_string(i) + " must be a JSON object");
    if (entry.contains("key")) {
      loose.secrets.push_back(parse_declaration(entry, path, "secret " + std::to_string(i)));
      loose.manifest.push_back(entry);
    } else {
      const std::string fallback = entries.size() == 1 ? stem_of(path) : stem_of(path) + "#" + std::to_string(i);
      file.commands.push_back(parse_command(entry, path, fallback));
    }
  }
  if (!loose.secrets.empty()) file.commands.insert(file.commands.begin(), std::move(loose));
  return file;
}

std::vector<ManifestFile> load_manifests(const std::string& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw input_error("manifest \"" + path + "\" does not exist");

  std::vector<std::string> files;
  if (fs::is_directory(status)) {
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      if (entry.path().extension() == ".json" && entry.is_regular_file()) files.push_back(entry.path().string());
    }
    if (ec) throw input_error("cannot read manifest directory \"" + path + "\": " + ec.message());
    std::sort(files.begin(), files.end());
    if (files.empty()) throw input_error("manifest directory \"" + path + "\" holds no *.json file");
  } else {
    files.push_back(path);
  }

  std::vector<ManifestFile> out;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw input_error("cannot read manifest \"" + file + "\": " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    out.push_back(parse_manifest(text.str(), file));
  }
  return out;
}

}  // namespace secretsctl
