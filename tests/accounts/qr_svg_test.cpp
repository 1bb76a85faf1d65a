#include "accounts/qr_svg.h"

#include <qrencode.h>

#include <memory>
#include <regex>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

namespace secretsd::accounts {
namespace {

const std::string kUri =
    "otpauth://totp/pgsecrets:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    "&issuer=pgsecrets&algorithm=SHA1&digits=6&period=30";

using Modules = std::vector<std::vector<bool>>;  // [y][x], symbol only

// The whole grammar qr_svg writes; anything else is malformed. Fills the
// dark modules from the single path's runs.
Modules parse(const std::string& svg, int& size) {
  static const std::regex document(
      "^<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 (\\d+) \\1\" "
      "shape-rendering=\"crispEdges\"><rect width=\"\\1\" height=\"\\1\" fill=\"#fff\"/>"
      "<path fill=\"#000\" d=\"((?:M\\d+ \\d+h\\d+v1h-\\d+z)*)\"/></svg>$");
  std::smatch m;
  if (!std::regex_match(svg, m, document)) throw std::runtime_error("not the expected SVG");
  size = std::stoi(m[1]);
  const int width = size - 2 * kQrQuietZone;
  Modules modules(width, std::vector<bool>(width, false));
  static const std::regex run("M(\\d+) (\\d+)h(\\d+)v1h-(\\d+)z");
  const std::string d = m[2];
  for (auto it = std::sregex_iterator(d.begin(), d.end(), run); it != std::sregex_iterator(); ++it) {
    const int x = std::stoi((*it)[1]) - kQrQuietZone;
    const int y = std::stoi((*it)[2]) - kQrQuietZone;
    const int length = std::stoi((*it)[3]);
    if (length != std::stoi((*it)[4]) || length < 1 || x < 0 || y < 0 || y >= width ||
        x + length > width) {
      throw std::runtime_error("run outside the symbol");
    }
    for (int k = 0; k < length; ++k) {
      if (modules[y][x + k]) throw std::runtime_error("overlapping runs");
      modules[y][x + k] = true;
    }
  }
  return modules;
}

// A 7x7 finder pattern at (x, y): dark ring, light ring, dark 3x3 centre.
bool finder_at(const Modules& m, int x0, int y0) {
  for (int y = 0; y < 7; ++y) {
    for (int x = 0; x < 7; ++x) {
      const bool ring = x == 0 || y == 0 || x == 6 || y == 6;
      const bool centre = x >= 2 && x <= 4 && y >= 2 && y <= 4;
      if (m[y0 + y][x0 + x] != (ring || centre)) return false;
    }
  }
  return true;
}

TEST(QrSvg, ShortTextIsAVersionOneSymbol) {
  int size = 0;
  const Modules modules = parse(qr_svg("hello"), size);
  EXPECT_EQ(size, 21 + 2 * kQrQuietZone);  // version 1: 21 x 21 modules
  EXPECT_TRUE(finder_at(modules, 0, 0));
  EXPECT_TRUE(finder_at(modules, 21 - 7, 0));
  EXPECT_TRUE(finder_at(modules, 0, 21 - 7));
  EXPECT_FALSE(finder_at(modules, 21 - 7, 21 - 7));  // no fourth corner
}

TEST(QrSvg, EnrolmentUriRendersEveryModuleOfTheLibrarysSymbol) {
  int size = 0;
  const Modules modules = parse(qr_svg(kUri), size);
  const std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeString(kUri.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), &QRcode_free);
  ASSERT_NE(code, nullptr);
  const int width = code->width;
  ASSERT_EQ(size, width + 2 * kQrQuietZone);
  EXPECT_EQ(width, 17 + 4 * code->version);
  EXPECT_GE(code->version, 5);  // ~130 bytes do not fit a smaller symbol at level M
  for (int y = 0; y < width; ++y) {
    for (int x = 0; x < width; ++x) {
      ASSERT_EQ(modules[y][x], (code->data[y * width + x] & 1) != 0) << x << "," << y;
    }
  }
  EXPECT_TRUE(finder_at(modules, 0, 0));
  EXPECT_TRUE(finder_at(modules, width - 7, 0));
  EXPECT_TRUE(finder_at(modules, 0, width - 7));
}

TEST(QrSvg, OnePathOnly) {
  const std::string svg = qr_svg(kUri);
  EXPECT_EQ(svg.find("<path"), svg.rfind("<path"));
  EXPECT_LT(svg.size(), 12000u);  // compact: runs, not one element per module
}

TEST(QrSvg, RefusesWhatNoQrCodeHolds) {
  EXPECT_THROW(qr_svg(std::string(4000, 'x')), std::runtime_error);
  EXPECT_THROW(qr_svg(std::string("a\0b", 3)), std::runtime_error);
}

}  // namespace
}  // namespace secretsd::accounts
