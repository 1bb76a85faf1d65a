// secretsctl's key file parser and writer: the rules of extension/keyring.c,
// edits that keep the active key, and atomic writes that keep mode and owner.
#include "secretsctl/keyfile.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "secretsctl/errors.h"

namespace secretsctl {
namespace {

const std::string kA(64, 'a');
const std::string kB(64, 'b');
const std::string kC = "0123456789abcdefABCDEF0123456789abcdef0123456789abcdef0123456789";

int error_line(const std::string& text, std::string* message = nullptr) {
  try {
    KeyFile::parse(text);
  } catch (const KeyFileError& e) {
    if (message != nullptr) *message = e.what();
    return e.line();
  }
  return -1;
}

TEST(SecretsctlKeyFile, BareKeyIsVersionOneActive) {
  const auto file = KeyFile::parse(kA + "\n");
  EXPECT_EQ(file.versions(), std::vector<std::uint32_t>{1});
  EXPECT_EQ(file.active_version(), 1u);
}

TEST(SecretsctlKeyFile, BareKeyWithCommentsIsStillTheOnlyKey) {
  const auto file = KeyFile::parse("# header\n\n" + kA + "  # trailing\n");
  EXPECT_EQ(file.active_version(), 1u);
}

TEST(SecretsctlKeyFile, HighestVersionIsActiveWithoutMarker) {
  const auto file = KeyFile::parse("3 " + kA + "\n1 " + kB + "\n");
  EXPECT_EQ(file.active_version(), 3u);
  EXPECT_FALSE(file.has_explicit_active());
}

TEST(SecretsctlKeyFile, ExplicitActiveWins) {
  const auto file = KeyFile::parse("1 " + kA + " active\n2\t" + kC + "\r\n");
  EXPECT_EQ(file.active_version(), 1u);
  EXPECT_TRUE(file.has_version(2));
}

TEST(SecretsctlKeyFile, RejectsWhatKeyringRejects) {
  std::string message;
  EXPECT_EQ(error_line("1 " + kA + " active\n2 " + kB + " active\n", &message), 2);
  EXPECT_EQ(message, "more than one key is marked active");
  EXPECT_EQ(error_line("1 " + kA + "\n1 " + kB + "\n", &message), 2);
  EXPECT_EQ(message, "key version 1 appears twice");
  EXPECT_EQ(error_line("1 " + kA.substr(0, 60) + "\n", &message), 1);
  EXPECT_EQ(message, "a key must be exactly 64 hex digits (32 bytes)");
  EXPECT_EQ(error_line("zero " + kA + "\n", &message), 1);
  EXPECT_NE(message.find("key version must be an integer"), std::string::npos);
  EXPECT_EQ(error_line("0 " + kA + "\n"), 1);
  EXPECT_EQ(error_line("2147483648 " + kA + "\n"), 1);
  EXPECT_EQ(error_line("# c\n" + kA + "\n2 " + kB + "\n", &message), 2);
  EXPECT_NE(message.find("bare key is only allowed"), std::string::npos);
  EXPECT_EQ(error_line("1 " + kA + " primary\n", &message), 1);
  EXPECT_NE(message.find("expected"), std::string::npos);
  EXPECT_EQ(error_line("# nothing\n\n", &message), 0);
  EXPECT_EQ(message, "holds no key");
  EXPECT_EQ(error_line(""), 0);
}

// Every kind of malformed line, each holding key material: no message
// quotes any 8 hex digits of it.
TEST(SecretsctlKeyFile, ErrorsNeverQuoteKeyMaterial) {
  const std::vector<std::string> malformed = {
      "1 " + kC + " active\n2 " + kC + " active\n",  // two active
      "1 " + kC + "\n1 " + kC + "\n",                 // a version twice
      "1 " + kC.substr(0, 60) + "\n",                // a short key
      "1 " + kC + "0\n",                             // a long key
      "zero " + kC + "\n",                           // a bad version
      "0 " + kC + "\n",                              // version 0
      "# c\n" + kC + "\n2 " + kB + "\n",              // a bare key among others
      "1 " + kC + " primary\n",                      // a bad flag
      "1 " + kC + " active extra\n",                 // too many fields
      kC.substr(0, 31) + "g" + kC.substr(32) + "\n", // a non-hex digit in a bare key
  };
  for (const auto& text : malformed) {
    std::string message;
    ASSERT_NE(error_line(text, &message), -1) << "accepted: case " << &text - malformed.data();
    const std::string described = describe(KeyFileError(1, message), "/k");
    for (std::size_t at = 0; at + 8 <= kC.size(); at += 4) {
      EXPECT_EQ(described.find(kC.substr(at, 8)), std::string::npos)
          << "case " << &text - malformed.data() << ": " << described;
    }
  }
}

TEST(SecretsctlKeyFile, AtMost64Keys) {
  std::string text;
  for (int v = 1; v <= 64; ++v) text += std::to_string(v) + " " + kA + "\n";
  auto file = KeyFile::parse(text);
  EXPECT_THROW(file.add_key(kB, false), std::runtime_error);
  EXPECT_EQ(error_line(text + "65 " + kA + "\n"), 65);
}

TEST(SecretsctlKeyFile, AddKeepsTheImplicitActiveKeyActive) {
  auto file = KeyFile::parse("1 " + kA + "\n2 " + kB + "\n");
  EXPECT_EQ(file.add_key(kC, false), 3u);
  EXPECT_EQ(file.active_version(), 2u);
  const auto reparsed = KeyFile::parse(file.serialize());
  EXPECT_EQ(reparsed.active_version(), 2u);
  EXPECT_EQ(reparsed.versions(), (std::vector<std::uint32_t>{1, 2, 3}));
}

TEST(SecretsctlKeyFile, AddWithActivateMovesTheMarker) {
  auto file = KeyFile::parse(kA);
  EXPECT_EQ(file.add_key(kB, true), 2u);
  const auto reparsed = KeyFile::parse(file.serialize());
  EXPECT_EQ(reparsed.active_version(), 2u);
  EXPECT_EQ(file.serialize(), "1 " + kA + "\n2 " + kB + " active\n");
}

TEST(SecretsctlKeyFile, AddUsesMaxPlusOne) {
  auto file = KeyFile::parse("7 " + kA + " active\n3 " + kB + "\n");
  EXPECT_EQ(file.add_key(kC, false), 8u);
  EXPECT_EQ(file.active_version(), 7u);
}

TEST(SecretsctlKeyFile, ActivateAndRemove) {
  auto file = KeyFile::parse("# keep me\n1 " + kA + " active # old\n\n2 " + kB + "\n");
  file.activate(2);
  EXPECT_EQ(file.active_version(), 2u);
  EXPECT_THROW(file.remove(2), std::logic_error);
  EXPECT_THROW(file.remove(9), std::out_of_range);
  EXPECT_THROW(file.activate(9), std::out_of_range);
  file.remove(1);
  EXPECT_EQ(file.serialize(), "# keep me\n\n2 " + kB + " active\n");
}

TEST(SecretsctlKeyFile, FreshFileHasHeaderAndActiveVersionOne) {
  const auto text = KeyFile::fresh(kA).serialize();
  EXPECT_EQ(text.rfind("# ", 0), 0u);
  EXPECT_NE(text.find("\n1 " + kA + " active\n"), std::string::npos);
  EXPECT_EQ(KeyFile::parse(text).active_version(), 1u);
}

TEST(SecretsctlKeyFile, GeneratedKeysAreFreshHex) {
  const auto a = generate_key_hex();
  const auto b = generate_key_hex();
  EXPECT_EQ(a.size(), 64u);
  EXPECT_NE(a, b);
  EXPECT_NO_THROW(KeyFile::parse(a));
}

class SecretsctlKeyFileIo : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/secretsctl-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string dir_;
};

mode_t mode_of(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st.st_mode & 07777;
}

TEST_F(SecretsctlKeyFileIo, WritesNewFilesWithMode0600AndRefusesToReplaceThem) {
  const std::string path = dir_ + "/root.key";
  WriteOptions create;
  create.must_not_exist = true;
  write_file_atomically(path, "1 " + kA + " active\n", create);
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(read_key_file(path), "1 " + kA + " active\n");
  try {
    write_file_atomically(path, "x", create);
    FAIL() << "overwrote an existing file";
  } catch (const CliError& e) {
    EXPECT_EQ(e.code(), kExitFailure);
  }
  EXPECT_EQ(read_key_file(path), "1 " + kA + " active\n");
}

TEST_F(SecretsctlKeyFileIo, ReplacingKeepsModeAndLeavesNoTemporaryFile) {
  const std::string path = dir_ + "/root.key";
  write_file_atomically(path, "1 " + kA + "\n", WriteOptions{});
  ::chmod(path.c_str(), 0640);
  write_file_atomically(path, "1 " + kB + "\n", WriteOptions{});
  EXPECT_EQ(mode_of(path), 0640u);
  EXPECT_EQ(read_key_file(path), "1 " + kB + "\n");
  const std::string listing_cmd = "ls -A '" + dir_ + "' | wc -l";
  FILE* p = ::popen(listing_cmd.c_str(), "r");
  char buf[16] = {0};
  ASSERT_NE(std::fgets(buf, sizeof buf, p), nullptr);
  ::pclose(p);
  EXPECT_EQ(std::atoi(buf), 1);
}

TEST_F(SecretsctlKeyFileIo, ReadRefusesMissingAndWorldReadableFiles) {
  try {
    read_key_file(dir_ + "/missing");
    FAIL();
  } catch (const CliError& e) {
    EXPECT_EQ(e.code(), kExitBadInput);
  }
  const std::string path = dir_ + "/open.key";
  std::ofstream(path) << kA << "\n";
  ::chmod(path.c_str(), 0644);
  try {
    read_key_file(path);
    FAIL();
  } catch (const CliError& e) {
    EXPECT_EQ(e.code(), kExitBadInput);
    EXPECT_NE(std::string(e.what()).find("accessible to other users"), std::string::npos);
  }
}

}  // namespace
}  // namespace secretsctl
