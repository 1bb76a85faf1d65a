#include "accounts/password_policy.h"

#include <zxcvbn.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

namespace secretsd::accounts {
namespace {

// Words shorter than this are no useful dictionary entries ("jo", "de").
constexpr std::size_t kMinUserWordLength = 3;

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool is_separator(char c) {
  return c == ' ' || c == '\t' || c == '.' || c == '-' || c == '_' || c == '@' || c == '+' ||
         c == ',' || c == '\'';
}

void add_word(std::vector<std::string>& words, std::string_view word) {
  if (word.size() >= kMinUserWordLength) words.push_back(ascii_lower(word));
}

// The whole value and each of its parts: "Alice Smith" gives "alice smith",
// "alice" and "smith"; "alice.smith@example.org" gives the address, its
// local part, "alice", "smith", "example" and "org".
void add_words_of(std::vector<std::string>& words, std::string_view value) {
  add_word(words, value);
  if (const auto at = value.find('@'); at != std::string_view::npos) add_word(words, value.substr(0, at));
  std::size_t start = 0;
  for (std::size_t i = 0; i <= value.size(); ++i) {
    if (i == value.size() || is_separator(value[i])) {
      if (i > start && (start != 0 || i != value.size())) add_word(words, value.substr(start, i - start));
      start = i + 1;
    }
  }
}

struct MatchInfoDeleter {
  void operator()(ZxcMatch_t* info) const { ZxcvbnFreeInfo(info); }
};
using MatchInfo = std::unique_ptr<ZxcMatch_t, MatchInfoDeleter>;

ZxcTypeMatch_t base_type(ZxcTypeMatch_t type) {
  return static_cast<ZxcTypeMatch_t>(static_cast<int>(type) & ~static_cast<int>(MULTIPLE_MATCH));
}

// The reason of a refusal, from what zxcvbn found the password made of:
// the person's own words first (the advice differs), then dictionary words
// covering at least half of it, else the pattern covering the most (a
// pattern repeated is a repeat). Lengths are in bytes, as zxcvbn counts.
std::string weakness_reason(const ZxcMatch_t* matches, std::size_t length) {
  std::size_t dictionary_chars = 0;
  const ZxcMatch_t* largest = nullptr;
  for (const ZxcMatch_t* m = matches; m != nullptr; m = m->Next) {
    const auto type = base_type(m->Type);
    if (type == USER_MATCH || type == USER_LEET_MATCH) {
      return "too easy to guess: it contains your email address or name";
    }
    if (type == DICTIONARY_MATCH || type == DICT_LEET_MATCH) {
      dictionary_chars += static_cast<std::size_t>(m->Length);
    }
    if (largest == nullptr || m->Length > largest->Length) largest = m;
  }
  if (dictionary_chars * 2 >= length) {
    return "too common: it is a well-known password or made of common words; "
           "add unusual words or characters";
  }
  if (largest != nullptr && (largest->Type & MULTIPLE_MATCH) != 0) {
    return "too easy to guess: it repeats characters or words";
  }
  switch (largest == nullptr ? BRUTE_MATCH : base_type(largest->Type)) {
    case SPATIAL_MATCH:
      return "too easy to guess: it follows a keyboard pattern";
    case SEQUENCE_MATCH:
      return "too easy to guess: it is mostly a sequence such as abcd or 1234";
    case REPEATS_MATCH:
      return "too easy to guess: it repeats characters or words";
    case DATE_MATCH:
    case YEAR_MATCH:
      return "too easy to guess: it is mostly a date or a year";
    default:
      return "too easy to guess: add more words or characters that are hard to guess";
  }
}

}  // namespace

std::optional<std::size_t> utf8_code_points(std::string_view text) {
  std::size_t count = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    std::uint32_t value = 0;
    if (lead < 0x80) {
      value = lead;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      extra = 1;
      value = lead & 0x1Fu;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      extra = 2;
      value = lead & 0x0Fu;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      extra = 3;
      value = lead & 0x07u;
    } else {
      return std::nullopt;  // continuation byte, C0/C1 (overlong) or F5..FF
    }
    if (i + extra >= text.size() && extra > 0) return std::nullopt;  // truncated
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0u) != 0x80u) return std::nullopt;
      value = (value << 6) | (next & 0x3Fu);
    }
    // Overlong 3- and 4-byte forms, UTF-16 surrogates, beyond U+10FFFF.
    if ((extra == 2 && value < 0x800) || (extra == 3 && value < 0x10000) ||
        (value >= 0xD800 && value <= 0xDFFF) || value > 0x10FFFF) {
      return std::nullopt;
    }
    i += extra + 1;
    ++count;
  }
  return count;
}

std::optional<std::string> password_refusal(std::string_view password, std::string_view email,
                                            std::string_view display_name) {
  const auto characters = utf8_code_points(password);
  if (!characters) return "not valid UTF-8";
  if (*characters < kMinPasswordCharacters) return "too short: use at least 12 characters";
  if (*characters > kMaxPasswordCharacters) return "too long: use at most 1024 characters";

  std::vector<std::string> words;
  add_words_of(words, email);
  add_words_of(words, display_name);
  std::vector<const char*> dictionary;
  dictionary.reserve(words.size() + 1);
  for (const auto& word : words) dictionary.push_back(word.c_str());
  dictionary.push_back(nullptr);

  // zxcvbn reads up to the first NUL: a password with one is judged on its
  // prefix, which can only make it look weaker, never stronger.
  const std::string terminated(password);
  ZxcMatch_t* raw_info = nullptr;
  const double guesses_log2 = ZxcvbnMatch(terminated.c_str(), dictionary.data(), &raw_info);
  const MatchInfo info(raw_info);
  if (guesses_log2 >= kMinPasswordGuessesLog2) return std::nullopt;
  return weakness_reason(info.get(), std::strlen(terminated.c_str()));
}

}  // namespace secretsd::accounts
