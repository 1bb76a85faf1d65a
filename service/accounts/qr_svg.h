// A QR code as a compact SVG image, through Debian's libqrencode: how the
// otpauth:// URI of two-factor enrolment is shown to a phone's camera.
#pragma once

#include <string>
#include <string_view>

namespace secretsd::accounts {

// Modules of quiet zone around the symbol (ISO/IEC 18004 asks for 4).
inline constexpr int kQrQuietZone = 4;

// An SVG document of `text` encoded as a QR code (byte mode as the library
// picks, error correction level M), one unit per module: a white <rect>
// background and a single <path> of the dark modules, one subpath per
// horizontal run. viewBox is "0 0 N N" with N = width + 2 * kQrQuietZone.
// Throws std::runtime_error if libqrencode refuses (text too long for a
// QR code: about 2300 bytes at level M).
std::string qr_svg(std::string_view text);

}  // namespace secretsd::accounts
