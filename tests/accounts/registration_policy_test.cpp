#include "accounts/registration_policy.h"

#include <gtest/gtest.h>

namespace secretsd::accounts {
namespace {

using D = RegistrationDecision;

TEST(RegistrationPolicy, InviteModeNeedsAnInviteOnceAnAccountExists) {
  EXPECT_EQ(decide_registration(RegistrationMode::Invite, false, true), D::InviteRequired);
  EXPECT_EQ(decide_registration(RegistrationMode::Invite, true, true), D::JoinByInvite);
  // The instance's first owner.
  EXPECT_EQ(decide_registration(RegistrationMode::Invite, false, false), D::CreateHousehold);
}

TEST(RegistrationPolicy, OpenModeLetsAnyoneCreateAHousehold) {
  EXPECT_EQ(decide_registration(RegistrationMode::Open, false, true), D::CreateHousehold);
  EXPECT_EQ(decide_registration(RegistrationMode::Open, false, false), D::CreateHousehold);
  EXPECT_EQ(decide_registration(RegistrationMode::Open, true, true), D::JoinByInvite);
}

TEST(RegistrationPolicy, ClosedModeRefusesEveryone) {
  for (const bool invite : {false, true}) {
    for (const bool any : {false, true}) {
      EXPECT_EQ(decide_registration(RegistrationMode::Closed, invite, any), D::Closed);
    }
  }
}

}  // namespace
}  // namespace secretsd::accounts
