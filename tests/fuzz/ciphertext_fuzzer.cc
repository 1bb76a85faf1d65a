// The ciphertext header check and the AEAD open path of the extension
// (extension/ciphertext.c, compiled here as it is into pgsecrets.so).
//
// Input: [1 byte context length n][n bytes context][ciphertext]. Half the
// runs open the bytes as they come (they must never open); the other half
// first seal the ciphertext's payload under the fixed key with the input's
// header, so the fuzzer also reaches a successful open and the AD rebuild.
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "ciphertext.h"

namespace {

const unsigned char kKey[crypto_aead_xchacha20poly1305_ietf_KEYBYTES] = {1, 2, 3, 4, 5, 6, 7, 8};
const unsigned char kHousehold[CIPHERTEXT_HOUSEHOLD_BYTES] = {0xaa, 0xbb};

std::vector<unsigned char> ad_for(const unsigned char* header, const unsigned char* ctx, std::size_t n) {
  std::vector<unsigned char> ad(ciphertext_ad_len(n));
  ciphertext_build_ad(ad.data(), header, kHousehold, ctx, n);
  return ad;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (sodium_init() < 0) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const bool seal_first = data[0] & 0x80;
  std::size_t ctxlen = data[0] & 0x7f;
  if (ctxlen > size - 1) ctxlen = size - 1;
  // Copies, so ASan sees exactly the bytes each buffer holds.
  std::vector<unsigned char> ctx(data + 1, data + 1 + ctxlen);
  std::vector<unsigned char> in(data + 1 + ctxlen, data + size);

  uint32_t version = 0;
  if (ciphertext_check_header(in.data(), in.size(), &version) != CIPHERTEXT_OK) return 0;
  if (version != ciphertext_key_version(in.data())) std::abort();

  const std::size_t ptlen = in.size() - CIPHERTEXT_HEADER_BYTES - CIPHERTEXT_TAG_BYTES;
  auto ad = ad_for(in.data(), ctx.data(), ctx.size());
  if (seal_first) {
    // Re-seal the payload under the input's own header: it must open.
    std::vector<unsigned char> payload(in.begin() + CIPHERTEXT_HEADER_BYTES,
                                       in.begin() + CIPHERTEXT_HEADER_BYTES + ptlen);
    crypto_aead_xchacha20poly1305_ietf_encrypt(in.data() + CIPHERTEXT_HEADER_BYTES, nullptr,
                                               payload.data(), ptlen, ad.data(), ad.size(), nullptr,
                                               in.data() + CIPHERTEXT_NONCE_OFFSET, kKey);
    std::vector<unsigned char> plain(ptlen + 1);
    if (!ciphertext_open(plain.data(), in.data(), in.size(), kKey, ad.data(), ad.size())) std::abort();
    if (!std::equal(payload.begin(), payload.end(), plain.begin())) std::abort();
    // One flipped header byte must fail: the AD is rebuilt from the header.
    in[2] ^= 1;
    auto moved = ad_for(in.data(), ctx.data(), ctx.size());
    if (ciphertext_open(plain.data(), in.data(), in.size(), kKey, moved.data(), moved.size())) std::abort();
    return 0;
  }
  std::vector<unsigned char> plain(ptlen + 1);
  // Random bytes forging a Poly1305 tag would be a broken libsodium.
  if (ciphertext_open(plain.data(), in.data(), in.size(), kKey, ad.data(), ad.size())) std::abort();
  return 0;
}
