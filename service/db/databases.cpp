#include "db/databases.h"

namespace secretsd::db {

Databases::Databases(const DatabaseOptions& options,
                     std::function<void(const std::string&)> log_line, ReadObserver on_read)
    : availability_(std::make_unique<Availability>(std::move(log_line))),
      primary_(std::make_unique<ConnectionPool>(options.primary_url, options.pool_size,
                                                ConnectionPool::OnConnect{}, availability_.get())),
      recent_writers_(std::make_unique<RecentWriters>(options.read_your_writes)),
      on_read_(std::move(on_read)) {
  if (!options.replica_url.empty()) {
    // Not reported to `availability`: that tracks the primary, which takes
    // the writes; a standby that fails sends reads back to the primary.
    replica_ = std::make_unique<ConnectionPool>(options.replica_url, options.pool_size);
  }
}

}  // namespace secretsd::db
