#include "secrets_cli/change_watch.h"

#include <chrono>
#include <thread>
#include <vector>

#include "secrets_cli/errors.h"

namespace secrets_client {

void SseParser::feed(const char* data, std::size_t n,
                     const std::function<void(const WatchEvent&)>& on_event) {
  buffer_.append(data, n);
  for (;;) {
    const auto end = buffer_.find("\n\n");
    if (end == std::string::npos) return;
    const std::string block = buffer_.substr(0, end);
    buffer_.erase(0, end + 2);
    WatchEvent e;
    std::size_t at = 0;
    while (at < block.size()) {
      auto nl = block.find('\n', at);
      const std::string line = block.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
      at = nl == std::string::npos ? block.size() : nl + 1;
      if (line.rfind("id: ", 0) == 0) e.id = line.substr(4);
      else if (line.rfind("event: ", 0) == 0) e.event = line.substr(7);
      else if (line.rfind("data: ", 0) == 0) e.data += line.substr(6);
    }
    if (!e.event.empty()) on_event(e);
  }
}

void ChangeWatcher::run(const std::function<void(const WatchEvent&)>& on_event,
                        const std::function<void()>& on_connected) {
  auto pause = std::chrono::seconds(1);
  while (!stopping_) {
    SseParser parser;
    std::vector<std::pair<std::string, std::string>> extra;
    if (!last_id_.empty()) extra.emplace_back("Last-Event-ID", last_id_);
    std::string error_body;
    bool opened = false;
    const int status = http_.stream(
        "/api/secrets/events", extra,
        [&](const char* data, std::size_t n) {
          if (!opened) {
            opened = true;
            pause = std::chrono::seconds(1);
            if (on_connected) on_connected();
          }
          parser.feed(data, n, [&](const WatchEvent& e) {
            // After a reset the old id means nothing: resume from now on.
            last_id_ = e.event == "reset" ? std::string() : e.id.empty() ? last_id_ : e.id;
            on_event(e);
          });
          return !stopping_.load();
        },
        error_body);
    if (stopping_) return;
    if (status == 400 || status == 401 || status == 403 || status == 404 || status == 406) {
      throw ClientError(exit_code_for_status(status), "the change stream was refused (HTTP " +
                                                          std::to_string(status) + ")");
    }
    // Dropped, refused for now (429, 503) or unreachable: try again.
    const auto until = std::chrono::steady_clock::now() + pause;
    while (!stopping_ && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    pause = std::min(pause * 2, std::chrono::seconds(10));
  }
}

void ChangeWatcher::stop() {
  stopping_ = true;
  http_.stop();
}

}  // namespace secrets_client
