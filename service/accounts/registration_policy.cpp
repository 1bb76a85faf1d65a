#include "accounts/registration_policy.h"

namespace secretsd::accounts {

RegistrationDecision decide_registration(RegistrationMode mode, bool has_invite_code,
                                         bool any_account_exists) {
  switch (mode) {
    case RegistrationMode::Closed:
      return RegistrationDecision::Closed;
    case RegistrationMode::Open:
      return has_invite_code ? RegistrationDecision::JoinByInvite
                             : RegistrationDecision::CreateHousehold;
    case RegistrationMode::Invite:
      break;
  }
  if (has_invite_code) return RegistrationDecision::JoinByInvite;
  // The first owner of a fresh instance has nobody to invite them.
  return any_account_exists ? RegistrationDecision::InviteRequired
                            : RegistrationDecision::CreateHousehold;
}

}  // namespace secretsd::accounts
