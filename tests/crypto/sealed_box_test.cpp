#include "crypto/sealed_box.h"

#include <gtest/gtest.h>

#include "crypto/keyed_hash.h"

namespace secretsd {
namespace {

const std::string kKey = derive_subkey("a test master key of at least 32 bytes", "test-seal");

TEST(SealedBox, RoundTrip) {
  const std::string secret("\x00\x01 raw \xff bytes", 14);
  const auto sealed = seal(kKey, secret, "user-1");
  EXPECT_EQ(sealed.rfind("v1.", 0), 0u);
  EXPECT_EQ(sealed.find("raw"), std::string::npos);
  EXPECT_EQ(open_sealed(kKey, sealed, "user-1"), secret);
  EXPECT_NE(seal(kKey, secret, "user-1"), sealed);  // a fresh nonce each time
  EXPECT_EQ(open_sealed(kKey, seal(kKey, "", "x"), "x"), "");
}

TEST(SealedBox, WrongKeyAssociatedDataOrAlterationFails) {
  const auto sealed = seal(kKey, "the secret", "user-1");
  EXPECT_EQ(open_sealed(kKey, sealed, "user-2"), std::nullopt);
  EXPECT_EQ(open_sealed(derive_subkey("a test master key of at least 32 bytes", "other"), sealed,
                        "user-1"),
            std::nullopt);
  for (std::size_t i = 3; i < sealed.size(); ++i) {
    std::string altered = sealed;
    altered[i] = altered[i] == 'A' ? 'B' : 'A';
    EXPECT_EQ(open_sealed(kKey, altered, "user-1"), std::nullopt) << i;
  }
  EXPECT_EQ(open_sealed(kKey, "v2." + sealed.substr(3), "user-1"), std::nullopt);
  EXPECT_EQ(open_sealed(kKey, "v1.", "user-1"), std::nullopt);
  EXPECT_EQ(open_sealed(kKey, sealed.substr(0, 20), "user-1"), std::nullopt);
}

TEST(SealedBox, KeyMustBeThirtyTwoBytes) {
  EXPECT_THROW(seal("short", "x", ""), std::invalid_argument);
  EXPECT_THROW(open_sealed(std::string(31, 'k'), "v1.AAAA", ""), std::invalid_argument);
}

}  // namespace
}  // namespace secretsd
