#include "accounts/qr_svg.h"

#include <qrencode.h>

#include <memory>
#include <stdexcept>

namespace secretsd::accounts {
namespace {

struct QrDeleter {
  void operator()(QRcode* code) const { QRcode_free(code); }
};

}  // namespace

std::string qr_svg(std::string_view text) {
  const std::string terminated(text);
  if (terminated.find('\0') != std::string::npos) {
    throw std::runtime_error("QR code text must not contain NUL");
  }
  // Version 0: the smallest symbol that holds the text. Case-sensitive, so
  // the URI's lower-case parts survive (the library would otherwise upper-case
  // them to use the denser alphanumeric mode).
  const std::unique_ptr<QRcode, QrDeleter> code(
      QRcode_encodeString(terminated.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1));
  if (!code) throw std::runtime_error("libqrencode could not encode the text");

  const int width = code->width;
  const int size = width + 2 * kQrQuietZone;
  const std::string n = std::to_string(size);
  std::string svg =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + n + " " + n +
      "\" shape-rendering=\"crispEdges\"><rect width=\"" + n + "\" height=\"" + n +
      "\" fill=\"#fff\"/><path fill=\"#000\" d=\"";
  // Bit 0 of each module byte is "dark" (qrencode.h); the other bits say
  // what kind of module it is.
  for (int y = 0; y < width; ++y) {
    const unsigned char* row = code->data + static_cast<std::size_t>(y) * width;
    for (int x = 0; x < width;) {
      if ((row[x] & 1) == 0) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < width && (row[x + run] & 1) != 0) ++run;
      svg += 'M' + std::to_string(x + kQrQuietZone) + ' ' + std::to_string(y + kQrQuietZone) +
             'h' + std::to_string(run) + "v1h-" + std::to_string(run) + 'z';
      x += run;
    }
  }
  svg += "\"/></svg>";
  return svg;
}

}  // namespace secretsd::accounts
