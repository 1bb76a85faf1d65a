// accounts::TwoFactor against the integration database (migrations applied
// by the shared secretsd, 0013_two_factor.sql included). Codes come from the
// `oathtool` command given the base32 secret of the enrolment, so the whole
// path -- secret, URI, sealing, verification -- is checked against another
// implementation. A fixed clock makes steps and replays exact.
#include <atomic>
#include <cstdio>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "accounts/account_events.h"
#include "accounts/two_factor.h"
#include "db/databases.h"
#include "harness.h"

namespace secretsd::it {
namespace {

struct PipeCloser {
  void operator()(FILE* f) const { pclose(f); }
};

// `oathtool --totp -b -N @<now> <base32>`
std::string oathtool_code(const std::string& base32, std::time_t now) {
  const std::string command = "oathtool --totp -b -N @" + std::to_string(static_cast<long long>(now)) +
                              " " + base32 + " 2>/dev/null";
  std::unique_ptr<FILE, PipeCloser> pipe(popen(command.c_str(), "r"));
  char buffer[32] = {};
  if (!pipe || std::fgets(buffer, sizeof buffer, pipe.get()) == nullptr) return "";
  std::string code(buffer);
  while (!code.empty() && (code.back() == '\n' || code.back() == '\r')) code.pop_back();
  return code;
}

class TwoFactorTest : public SecretsdTest {
 protected:
  static constexpr std::time_t kStart = 1700000010;  // the first second of a step

  void SetUp() override {
    SecretsdTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    db::DatabaseOptions options;
    options.primary_url = secretsd_environment().at("DATABASE_URL");
    options.pool_size = 8;
    databases_ = std::make_unique<db::Databases>(options);
    two_factor_ = std::make_unique<accounts::TwoFactor>(*databases_, auth_secret_key(),
                                                        [this] { return now_.load(); });
  }

  // A registered user with two-factor sign-in confirmed at kStart; returns
  // the base32 secret and fills `codes` with the recovery codes.
  std::string enrolled(const TestUser& user, std::vector<std::string>* codes = nullptr) {
    now_ = kStart;
    const auto enrolment = two_factor_->begin_enrolment(user.id, user.email);
    EXPECT_TRUE(enrolment.has_value());
    if (!enrolment) return "";
    const auto confirmed = two_factor_->confirm(user.id, oathtool_code(enrolment->secret_base32, kStart));
    EXPECT_TRUE(confirmed.has_value());
    if (codes != nullptr && confirmed) *codes = *confirmed;
    return enrolment->secret_base32;
  }

  pqxx::result query(const std::string& sql, const std::string& user_id) {
    auto conn = superuser_db();
    pqxx::nontransaction tx(conn);
    return tx.exec_params(sql, user_id);
  }

  std::atomic<std::time_t> now_{kStart};
  std::unique_ptr<db::Databases> databases_;
  std::unique_ptr<accounts::TwoFactor> two_factor_;
};

TEST_F(TwoFactorTest, EnrolConfirmAndTheSecretIsStoredSealed) {
  const TestUser user = register_user();
  EXPECT_FALSE(two_factor_->is_enabled(user.id));
  const auto enrolment = two_factor_->begin_enrolment(user.id, user.email);
  ASSERT_TRUE(enrolment);
  EXPECT_EQ(enrolment->secret_base32.size(), 32u);
  EXPECT_EQ(enrolment->otpauth_uri.rfind("otpauth://totp/pgsecrets:" + user.email + "?secret=" +
                                             enrolment->secret_base32 + "&issuer=pgsecrets",
                                         0),
            0u);
  EXPECT_EQ(enrolment->qr_svg.rfind("<svg ", 0), 0u);
  // Pending: not enabled, and a login code means nothing yet.
  EXPECT_FALSE(two_factor_->is_enabled(user.id));
  EXPECT_FALSE(two_factor_->verify_login(user.id, oathtool_code(enrolment->secret_base32, kStart)));

  const auto sealed = query("SELECT secret_sealed FROM secretsd.user_totp WHERE user_id = $1::uuid",
                            user.id)[0][0].as<std::string>();
  EXPECT_EQ(sealed.rfind("v1.", 0), 0u);
  EXPECT_EQ(sealed.find(enrolment->secret_base32), std::string::npos);

  EXPECT_FALSE(two_factor_->confirm(user.id, "000000").has_value() &&
               oathtool_code(enrolment->secret_base32, kStart) != "000000");
  const auto codes = two_factor_->confirm(user.id, oathtool_code(enrolment->secret_base32, kStart));
  ASSERT_TRUE(codes);
  EXPECT_EQ(codes->size(), 10u);
  EXPECT_TRUE(two_factor_->is_enabled(user.id));
  EXPECT_EQ(two_factor_->recovery_codes_left(user.id), 10u);
  // Confirmed: neither confirmed again nor replaced by a new enrolment.
  EXPECT_FALSE(two_factor_->confirm(user.id, oathtool_code(enrolment->secret_base32, kStart + 30)));
  EXPECT_FALSE(two_factor_->begin_enrolment(user.id, user.email));

  // Recovery codes are kept only as hashes.
  const auto stored = query("SELECT code_hash FROM secretsd.recovery_codes WHERE user_id = $1::uuid",
                            user.id);
  ASSERT_EQ(stored.size(), 10u);
  for (const auto& row : stored) {
    const auto hash = row[0].as<std::string>();
    EXPECT_EQ(hash.size(), 64u);
    for (const auto& code : *codes) EXPECT_EQ(hash.find(code.substr(0, 4)), std::string::npos);
  }
  const auto events = query("SELECT kind FROM secretsd.account_events WHERE user_id = $1::uuid", user.id);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0][0].as<std::string>(), "two_factor_enabled");
}

TEST_F(TwoFactorTest, ANewEnrolmentReplacesAnUnconfirmedOne) {
  const TestUser user = register_user();
  const auto first = two_factor_->begin_enrolment(user.id, user.email);
  const auto second = two_factor_->begin_enrolment(user.id, user.email);
  ASSERT_TRUE(first && second);
  EXPECT_NE(first->secret_base32, second->secret_base32);
  EXPECT_FALSE(two_factor_->confirm(user.id, oathtool_code(first->secret_base32, kStart)));
  EXPECT_TRUE(two_factor_->confirm(user.id, oathtool_code(second->secret_base32, kStart)));
}

TEST_F(TwoFactorTest, EachCodeWorksOnceAndNeverAfterALaterOne) {
  const TestUser user = register_user();
  const std::string secret = enrolled(user);
  // The confirming code's step is used already.
  EXPECT_FALSE(two_factor_->verify_login(user.id, oathtool_code(secret, kStart)));
  now_ = kStart + 30;
  const std::string next = oathtool_code(secret, kStart + 30);
  EXPECT_TRUE(two_factor_->verify_login(user.id, next));
  EXPECT_FALSE(two_factor_->verify_login(user.id, next));  // replay
  // One step ahead (clock drift) is accepted; afterwards the skipped-over
  // current step is below the last used one and refused.
  EXPECT_TRUE(two_factor_->verify_login(user.id, oathtool_code(secret, kStart + 60)));
  EXPECT_FALSE(two_factor_->verify_login(user.id, oathtool_code(secret, kStart + 30)));
  now_ = kStart + 90;
  EXPECT_TRUE(two_factor_->verify_login(user.id, oathtool_code(secret, kStart + 90)));
  const auto step = query("SELECT last_step FROM secretsd.user_totp WHERE user_id = $1::uuid", user.id);
  EXPECT_EQ(step[0][0].as<long long>(), (kStart + 90) / 30);
}

TEST_F(TwoFactorTest, ForgedStaleAndMalformedCodesAreRefused) {
  const TestUser user = register_user();
  const std::string secret = enrolled(user);
  now_ = kStart + 300;
  const std::string good = oathtool_code(secret, kStart + 300);
  std::string forged = good;
  forged[5] = forged[5] == '9' ? '0' : static_cast<char>(forged[5] + 1);
  EXPECT_FALSE(two_factor_->verify_login(user.id, forged));
  EXPECT_FALSE(two_factor_->verify_login(user.id, oathtool_code(secret, kStart + 240)));  // 2 steps old
  EXPECT_FALSE(two_factor_->verify_login(user.id, oathtool_code(secret, kStart + 360)));  // 2 ahead
  for (const std::string bad : {"", "12345", "1234567", "abcdef", "ABCD-EFGH-JKLM-NP23"}) {
    EXPECT_FALSE(two_factor_->verify_login(user.id, bad)) << bad;
  }
  // A user without two-factor sign-in passes nothing.
  const TestUser other = register_user();
  EXPECT_FALSE(two_factor_->verify_login(other.id, good));
  // The good code still works (refusals used up nothing), with spaces as apps show it.
  EXPECT_TRUE(two_factor_->verify_login(user.id, good.substr(0, 3) + " " + good.substr(3)));
}

TEST_F(TwoFactorTest, ASealedSecretDoesNotOpenOnAnotherUsersRow) {
  const TestUser alice = register_user();
  const TestUser mallory = register_user();
  const std::string alice_secret = enrolled(alice);
  enrolled(mallory);
  {
    auto conn = superuser_db();
    pqxx::nontransaction tx(conn);
    tx.exec_params(
        "UPDATE secretsd.user_totp SET secret_sealed = (SELECT secret_sealed FROM secretsd.user_totp "
        "WHERE user_id = $1::uuid), last_step = NULL WHERE user_id = $2::uuid",
        alice.id, mallory.id);
  }
  now_ = kStart + 30;
  EXPECT_FALSE(two_factor_->verify_login(mallory.id, oathtool_code(alice_secret, kStart + 30)));
  EXPECT_TRUE(two_factor_->verify_login(alice.id, oathtool_code(alice_secret, kStart + 30)));
}

TEST_F(TwoFactorTest, RecoveryCodesWorkOnceEach) {
  const TestUser user = register_user();
  std::vector<std::string> codes;
  enrolled(user, &codes);
  ASSERT_EQ(codes.size(), 10u);
  EXPECT_TRUE(two_factor_->verify_login(user.id, codes[0]));
  EXPECT_FALSE(two_factor_->verify_login(user.id, codes[0]));
  // As typed: lower case, no dashes.
  std::string typed;
  for (char c : codes[7]) {
    if (c != '-') typed.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  EXPECT_TRUE(two_factor_->verify_login(user.id, typed));
  EXPECT_FALSE(two_factor_->verify_login(user.id, codes[7]));
  EXPECT_FALSE(two_factor_->verify_login(user.id, "AAAA-AAAA-AAAA-AAAA"));
  EXPECT_EQ(two_factor_->recovery_codes_left(user.id), 8u);
  const auto used = query(
      "SELECT detail->>'left' FROM secretsd.account_events WHERE user_id = $1::uuid "
      "AND kind = 'recovery_code_used' ORDER BY id",
      user.id);
  ASSERT_EQ(used.size(), 2u);
  EXPECT_EQ(used[1][0].as<std::string>(), "8");
  // Another user's code is not this user's.
  const TestUser other = register_user();
  std::vector<std::string> other_codes;
  enrolled(other, &other_codes);
  EXPECT_FALSE(two_factor_->verify_login(user.id, other_codes[1]));
}

// Runs `attempt` on `threads` threads released together; how many passed.
int concurrent_successes(int threads, const std::function<bool()>& attempt) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::atomic<int> successes{0};
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&] {
      ++ready;
      while (!go.load()) std::this_thread::yield();
      if (attempt()) ++successes;
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  go = true;
  for (auto& t : pool) t.join();
  return successes.load();
}

TEST_F(TwoFactorTest, TheSameCodeConcurrentlySucceedsOnce) {
  const TestUser user = register_user();
  std::vector<std::string> codes;
  const std::string secret = enrolled(user, &codes);
  for (int round = 0; round < 3; ++round) {
    const std::time_t at = kStart + 30 * (round + 1);
    now_ = at;
    const std::string c = oathtool_code(secret, at);
    EXPECT_EQ(concurrent_successes(8, [&] { return two_factor_->verify_login(user.id, c); }), 1)
        << "round " << round;
  }
  for (int round = 0; round < 3; ++round) {
    const std::string& c = codes[round];
    EXPECT_EQ(concurrent_successes(8, [&] { return two_factor_->verify_login(user.id, c); }), 1)
        << "recovery round " << round;
  }
  EXPECT_EQ(two_factor_->recovery_codes_left(user.id), 7u);
}

TEST_F(TwoFactorTest, DisableForgetsSecretAndCodes) {
  const TestUser user = register_user();
  std::vector<std::string> codes;
  const std::string secret = enrolled(user, &codes);
  EXPECT_TRUE(two_factor_->disable(user.id, "192.0.2.7"));
  EXPECT_FALSE(two_factor_->is_enabled(user.id));
  EXPECT_FALSE(two_factor_->disable(user.id));
  now_ = kStart + 30;
  EXPECT_FALSE(two_factor_->verify_login(user.id, oathtool_code(secret, kStart + 30)));
  EXPECT_FALSE(two_factor_->verify_login(user.id, codes[0]));
  EXPECT_EQ(two_factor_->recovery_codes_left(user.id), 0u);
  EXPECT_EQ(query("SELECT count(*) FROM secretsd.recovery_codes WHERE user_id = $1::uuid", user.id)[0][0]
                .as<int>(),
            0);
  const auto events = query(
      "SELECT address FROM secretsd.account_events WHERE user_id = $1::uuid AND kind = "
      "'two_factor_disabled'",
      user.id);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0][0].as<std::string>(), "192.0.2.7");
  // Enrolling again starts afresh.
  EXPECT_TRUE(two_factor_->begin_enrolment(user.id, user.email));
}

TEST_F(TwoFactorTest, DeletingAUserDeletesItsTwoFactorRows) {
  const TestUser user = register_user();
  enrolled(user);
  {
    auto conn = superuser_db();
    pqxx::nontransaction tx(conn);
    tx.exec_params("DELETE FROM secretsd.users WHERE id = $1::uuid", user.id);
  }
  for (const char* table : {"user_totp", "recovery_codes", "account_events"}) {
    EXPECT_EQ(query(std::string("SELECT count(*) FROM secretsd.") + table + " WHERE user_id = $1::uuid",
                    user.id)[0][0]
                  .as<int>(),
              0)
        << table;
  }
}

TEST_F(TwoFactorTest, RegistrationAttemptsAreRecordedForTheAccountOnly) {
  const TestUser user = register_user();
  db::Lease lease = databases_->primary();
  std::string shouted = user.email;
  for (char& c : shouted) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  accounts::account_events::record_registration_attempt(lease, shouted, "198.51.100.4");
  accounts::account_events::record_registration_attempt(lease, "nobody-" + unique_suffix() + "@example.test",
                                                        "198.51.100.4");
  const auto events = accounts::account_events::recent(lease, user.id, 10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, "registration_attempt");
  EXPECT_EQ(events[0].address, "198.51.100.4");
  EXPECT_EQ(events[0].detail, nlohmann::json::object());
  EXPECT_EQ(events[0].at.size(), 20u);  // 2026-01-01T00:00:00Z
}

}  // namespace
}  // namespace secretsd::it
