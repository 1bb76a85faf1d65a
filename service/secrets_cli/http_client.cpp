#include "secrets_cli/http_client.h"

#include <httplib.h>

#include <cctype>

#include "secrets_cli/errors.h"

namespace secrets_client {
namespace {

std::string origin(const Endpoint& e) {
  const bool v6 = e.host.find(':') != std::string::npos;
  return e.scheme + "://" + (v6 ? "[" + e.host + "]" : e.host) + ":" + std::to_string(e.port);
}

httplib::Headers credential_headers(const ClientConfig& c) {
  switch (c.caller) {
    case Caller::kNode:
      return {{"X-API-Key", c.node_id + ":" + c.api_key}};
    case Caller::kApp: {
      httplib::Headers h{{"X-Jarvis-App-Id", c.app_id}, {"X-Jarvis-App-Key", c.app_key}};
      if (!c.household_id.empty()) h.emplace("X-Household-Id", c.household_id);
      return h;
    }
    case Caller::kUser:
      return {{"Authorization", "Bearer " + c.token}};
  }
  return {};
}

}  // namespace

std::string url_encode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : text) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

HttpClient::HttpClient(const ClientConfig& config)
    : config_(config), http_(std::make_unique<httplib::Client>(origin(config.endpoint))) {
  http_->set_connection_timeout(10, 0);
  http_->set_read_timeout(30, 0);
  http_->set_write_timeout(30, 0);
  http_->set_keep_alive(true);
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  // Verification is httplib's default; a private CA replaces the system's.
  http_->enable_server_certificate_verification(true);
  if (!config.ca_file.empty()) http_->set_ca_cert_path(config.ca_file.c_str());
#endif
}

HttpClient::~HttpClient() = default;

Response HttpClient::send(const std::string& method, const std::string& path,
                          const std::optional<std::string>& json_body) {
  const std::string full = config_.endpoint.base_path + path;
  const httplib::Headers headers = credential_headers(config_);
  const std::string body = json_body.value_or("");
  httplib::Result res = method == "GET"    ? http_->Get(full.c_str(), headers)
                        : method == "POST" ? http_->Post(full.c_str(), headers, body, "application/json")
                        : method == "PUT"  ? http_->Put(full.c_str(), headers, body, "application/json")
                                           : http_->Delete(full.c_str(), headers);
  if (!res) {
    // httplib's error names the failure (connection, TLS, timeout), never data.
    throw failure("no answer from " + config_.endpoint.host + ":" + std::to_string(config_.endpoint.port) +
                  ": " + httplib::to_string(res.error()));
  }
  return Response{res->status, res->body};
}

int HttpClient::stream(const std::string& path,
                       const std::vector<std::pair<std::string, std::string>>& extra,
                       const std::function<bool(const char*, std::size_t)>& on_bytes,
                       std::string& error_body) {
  const std::string full = config_.endpoint.base_path + path;
  httplib::Headers headers = credential_headers(config_);
  headers.emplace("Accept", "text/event-stream");
  for (const auto& [k, v] : extra) headers.emplace(k, v);
  // Heartbeats come every 15 s by default: a minute of silence is a dead link.
  http_->set_read_timeout(60, 0);
  int status = 0;
  httplib::Result res = http_->Get(
      full.c_str(), headers,
      [&status](const httplib::Response& r) {
        status = r.status;
        return true;
      },
      [&](const char* data, std::size_t n) {
        if (status != 200) {
          if (error_body.size() < 4096) error_body.append(data, n);
          return true;
        }
        return on_bytes(data, n);
      });
  http_->set_read_timeout(30, 0);
  if (res && res->status != 200 && error_body.empty()) error_body = res->body;
  return res ? res->status : status;
}

void HttpClient::stop() { http_->stop(); }

}  // namespace secrets_client
