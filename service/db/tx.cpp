#include "db/tx.h"

namespace secretsd::db {

void prepare_context_statement(pqxx::connection& conn) {
  conn.prepare(kSetContextStatement, kSetContextSql);
}

}  // namespace secretsd::db
