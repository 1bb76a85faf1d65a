#include "crypto/sealed_box.h"

#include <sodium.h>

#include <stdexcept>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/sodium_init.h"

namespace secretsd {
namespace {

// The format's version: a later algorithm gets another prefix, and values
// sealed before stay readable.
constexpr std::string_view kPrefix = "v1.";
constexpr std::size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

void require_key(std::string_view key) {
  static_assert(kSealKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
  if (key.size() != kSealKeyBytes) throw std::invalid_argument("seal key must be 32 bytes");
}

}  // namespace

std::string seal(std::string_view key, std::string_view plaintext, std::string_view associated) {
  require_key(key);
  ensure_sodium_initialized();
  std::string box(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(box.data());
  randombytes_buf(out, kNonceBytes);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out + kNonceBytes, &written, bytes_of(plaintext),
                                             plaintext.size(), bytes_of(associated),
                                             associated.size(), nullptr, out, bytes_of(key));
  box.resize(kNonceBytes + static_cast<std::size_t>(written));
  return std::string(kPrefix) + base64url_encode(box);
}

std::optional<std::string> open_sealed(std::string_view key, std::string_view sealed,
                                       std::string_view associated) {
  require_key(key);
  if (sealed.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  const auto box = base64url_decode(sealed.substr(kPrefix.size()));
  if (!box || box->size() < kNonceBytes + kTagBytes) return std::nullopt;
  ensure_sodium_initialized();
  std::string plaintext(box->size() - kNonceBytes - kTagBytes, '\0');
  unsigned long long length = 0;
  const auto* in = bytes_of(*box);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(plaintext.data()), &length, nullptr, in + kNonceBytes,
          box->size() - kNonceBytes, bytes_of(associated), associated.size(), in,
          bytes_of(key)) != 0) {
    return std::nullopt;
  }
  plaintext.resize(static_cast<std::size_t>(length));
  return plaintext;
}

}  // namespace secretsd
