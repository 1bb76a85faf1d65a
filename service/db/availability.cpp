#include "db/availability.h"

#include <nlohmann/json.hpp>

#include "format/time.h"

namespace secretsd::db {

Availability::Availability(std::function<void(const std::string&)> sink) : sink_(std::move(sink)) {}

void Availability::emit(const char* event, const char* reason) {
  if (!sink_) return;
  nlohmann::json line = {{"time", format::iso8601_utc_millis(std::chrono::system_clock::now())},
                         {"event", event}};
  if (reason != nullptr) line["reason"] = reason;
  sink_(line.dump());
}

void Availability::lost(const char* reason) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!available_) return;
    available_ = false;
    reason_ = reason;
  }
  emit("database_lost", reason);
}

void Availability::reachable() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (available_ || reason_ != kUnreachable) return;
    available_ = true;
    reason_ = nullptr;
  }
  emit("database_back", nullptr);
}

void Availability::back() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (available_) return;
    available_ = true;
    reason_ = nullptr;
  }
  emit("database_back", nullptr);
}

bool Availability::available() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return available_;
}

}  // namespace secretsd::db
