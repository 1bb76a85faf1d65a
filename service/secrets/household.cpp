#include "secrets/household.h"

namespace secretsd::secrets {

HouseholdContext household_of(const Caller& caller) {
  HouseholdContext ctx;
  ctx.household_id = caller.household_id;
  ctx.actor = caller.actor();
  if (caller.kind == CallerKind::Node) ctx.node_id = caller.node_id;
  return ctx;
}

}  // namespace secretsd::secrets
