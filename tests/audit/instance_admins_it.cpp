// People as instance admins: appointed with the break-glass key, they sign
// in like anyone else and administer the instance; what they change is in
// the admin audit under their name; removed, they lose the right on every
// request within the session check's cache time.
#include <chrono>
#include <string>
#include <thread>

#include "harness.h"

namespace secretsd::it {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
const std::string kJson = "application/json";

class InstanceAdminsTest : public SecretsdTest {};

int status_of(const httplib::Result& res) { return res ? res->status : -1; }

TEST_F(InstanceAdminsTest, APersonAppointedWithTheBreakGlassKeyAdministersUnderTheirName) {
  TestUser person = register_user("Instance admin household");
  auto c = client();
  const auto bearer = auth_header(person.access_token);
  EXPECT_EQ(status_of(c.Get("/api/v0/admin/settings", bearer)), 403) << "not an admin yet";

  auto appointed = c.Post("/api/v0/admin/instance-admins", admin_headers(),
                          json{{"email", person.email}}.dump(), kJson);
  ASSERT_EQ(status_of(appointed), 201);
  EXPECT_EQ(body_of(appointed)["data"]["user_id"], person.id);
  auto again = c.Post("/api/v0/admin/instance-admins", admin_headers(),
                      json{{"email", person.email}}.dump(), kJson);
  EXPECT_EQ(status_of(again), 200) << "appointing twice changes nothing";

  // The right shows within the session check's cache time (at most 1 s).
  int status = 0;
  for (int i = 0; i < 30 && status != 200; ++i) {
    status = status_of(c.Get("/api/v0/admin/settings", bearer));
    if (status != 200) std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(status, 200);

  const std::string app = "iadmin-app-" + std::to_string(::getpid());
  ASSERT_EQ(status_of(c.Post("/api/v0/admin/apps", bearer, json{{"app_id", app}}.dump(), kJson)), 201);
  auto audit = c.Get("/api/v0/admin/audit?action=app.create&limit=20", bearer);
  ASSERT_EQ(status_of(audit), 200);
  const json audit_body = body_of(audit);
  bool named = false;
  for (const auto& e : audit_body["data"]["entries"]) {
    if (e["target"] != app) continue;
    EXPECT_EQ(e["actor"], "user:" + person.id);
    EXPECT_EQ(e["person"]["email"], person.email);
    named = true;
  }
  EXPECT_TRUE(named) << "the app's creation is recorded with the person's name: " << audit_body.dump();

  auto listed = c.Get("/api/v0/admin/instance-admins", bearer);
  ASSERT_EQ(status_of(listed), 200);
  const json listed_body = body_of(listed);
  bool listed_person = false;
  for (const auto& p : listed_body["data"]) listed_person = listed_person || p["user_id"] == person.id;
  EXPECT_TRUE(listed_person) << listed_body.dump();

  auto appoints = c.Get("/api/v0/admin/audit?action=instance_admin.appoint&limit=50", bearer);
  const json appoints_body = body_of(appoints);
  bool recorded = false;
  for (const auto& e : appoints_body["data"]["entries"]) {
    recorded = recorded || (e["target"] == "user:" + person.id && e["actor"] == "admin");
  }
  EXPECT_TRUE(recorded) << "the appointment is recorded as the break-glass key's";

  // Removed: refused again within the cache time.
  ASSERT_EQ(status_of(c.Delete(("/api/v0/admin/instance-admins/" + person.id).c_str(), admin_headers())), 204);
  for (int i = 0; i < 30 && status != 403; ++i) {
    status = status_of(c.Get("/api/v0/admin/settings", bearer));
    if (status != 403) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(status, 403);
  EXPECT_EQ(status_of(c.Delete(("/api/v0/admin/instance-admins/" + person.id).c_str(), admin_headers())), 404);
}

TEST_F(InstanceAdminsTest, OnlyAdministratorsAppointAndUnknownPeopleAre404) {
  TestUser person = register_user();
  auto c = client();
  EXPECT_EQ(status_of(c.Post("/api/v0/admin/instance-admins", auth_header(person.access_token),
                             json{{"email", person.email}}.dump(), kJson)),
            403);
  EXPECT_EQ(status_of(c.Post("/api/v0/admin/instance-admins", admin_headers(),
                             json{{"email", "nobody-" + person.email}}.dump(), kJson)),
            404);
  EXPECT_EQ(status_of(c.Post("/api/v0/admin/instance-admins", admin_headers(), "{}", kJson)), 400);
  EXPECT_EQ(status_of(c.Delete("/api/v0/admin/instance-admins/not-a-uuid", admin_headers())), 404);
}

}  // namespace
}  // namespace secretsd::it
