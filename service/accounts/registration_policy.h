// Whether a registration may go ahead under SECRETSD_REGISTRATION (config.h,
// RegistrationMode): the one place the three modes are interpreted.
#pragma once

#include "config/config.h"

namespace secretsd::accounts {

enum class RegistrationDecision {
  CreateHousehold,  // a new household with this person as its owner
  JoinByInvite,     // consume the invite code (role from the invite)
  InviteRequired,   // refuse: 403 "registration needs an invite code"
  Closed,           // refuse: 403 "registration is closed"
};

// `has_invite_code`: the request carries one (valid or not: that is checked
// when it is consumed). `any_account_exists`: at least one user exists, so
// under `invite` only the instance's first owner registers without one.
RegistrationDecision decide_registration(RegistrationMode mode, bool has_invite_code,
                                         bool any_account_exists);

}  // namespace secretsd::accounts
