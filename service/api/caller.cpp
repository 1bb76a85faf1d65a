#include "api/caller.h"

namespace secretsd::api {

std::string Caller::actor() const {
  switch (kind) {
    case CallerKind::User: return "user:" + user_id;
    case CallerKind::Node: return "node:" + node_id;
    case CallerKind::App: return "app:" + app_id;
    case CallerKind::Admin: return "admin";
    case CallerKind::Anonymous: return "anonymous";
  }
  return "unknown";
}

const char* Caller::kind_name() const {
  switch (kind) {
    case CallerKind::User: return "user";
    case CallerKind::Node: return "node";
    case CallerKind::App: return "app";
    case CallerKind::Admin: return "admin";
    case CallerKind::Anonymous: return "anonymous";
  }
  return "unknown";
}

db::Context household_context(const Caller& caller) {
  db::Context context;
  context.household_id = caller.household_id;
  context.actor = caller.actor();
  if (caller.kind == CallerKind::Node) context.node_id = caller.node_id;
  // Empty for a user: the membership decides inside the statement.
  if (caller.kind != CallerKind::User) context.role = caller.household_role;
  context.key_prefix = caller.key_prefix;
  return context;
}

}  // namespace secretsd::api
