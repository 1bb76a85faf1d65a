#include <gtest/gtest.h>

#include <string>

#include "http/json_io.h"

namespace secretsd::http {
namespace {

TEST(HttpJson, ErrorResponseHasTheReferenceShape) {
  httplib::Response res;
  error_response(res, 404, "Secret not found");
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.body, R"({"statusCode":404,"message":"Secret not found"})");
  EXPECT_EQ(res.get_header_value("Content-Type"), "application/json");
}

TEST(HttpJson, JsonResponseNeverThrowsOnBadBytes) {
  httplib::Response res;
  EXPECT_NO_THROW(json_response(res, 200, {{"k", std::string("\xff\xfe")}}));
  EXPECT_EQ(res.status, 200);
}

TEST(HttpJson, ParsesAnObject) {
  auto j = parse_json_object(R"({"key":"API_KEY","value":"é✓😀","n":3})");
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["key"], "API_KEY");
}

TEST(HttpJson, RejectsInvalidJsonAndNonObjects) {
  EXPECT_FALSE(parse_json_object(""));
  EXPECT_FALSE(parse_json_object("{"));
  EXPECT_FALSE(parse_json_object(R"({"a":1} trailing)"));
  EXPECT_FALSE(parse_json_object("[1,2]"));
  EXPECT_FALSE(parse_json_object(R"("str")"));
  EXPECT_FALSE(parse_json_object("null"));
}

TEST(HttpJson, RejectsInvalidUtf8) {
  EXPECT_FALSE(parse_json_object("{\"v\":\"\xff\"}"));
  EXPECT_FALSE(parse_json_object("{\"v\":\"\xc0\xaf\"}"));          // overlong '/'
  EXPECT_FALSE(parse_json_object("{\"v\":\"\xed\xa0\x80\"}"));      // UTF-16 surrogate
  EXPECT_FALSE(parse_json_object("{\"v\":\"\xf4\x90\x80\x80\"}"));  // > U+10FFFF
  EXPECT_FALSE(parse_json_object("{\"v\":\"\xe2\x82\"}"));          // truncated
  EXPECT_FALSE(parse_json_object("{\"\xff\":1}"));                  // in a key
  EXPECT_FALSE(parse_json_object(R"({"v":"\ud800"})"));             // lone surrogate escape
}

TEST(HttpJson, Utf8Validator) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("\xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\x80"));
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));  // overlong 3-byte
  EXPECT_FALSE(is_valid_utf8("\xf0\x9f\x98"));  // truncated 4-byte
}

TEST(HttpJson, RejectsNulInStrings) {
  EXPECT_FALSE(parse_json_object(R"({"v":"a\u0000b"})"));
  EXPECT_FALSE(parse_json_object(R"({"a\u0000":1})"));
  EXPECT_FALSE(parse_json_object(R"({"v":["x",{"w":"\u0000"}]})"));
}

TEST(HttpJson, BoundsNestingDepth) {
  auto nested = [](int depth) {
    std::string s = "{\"a\":";
    for (int i = 1; i < depth; ++i) s += "[";
    s += "1";
    for (int i = 1; i < depth; ++i) s += "]";
    return s + "}";
  };
  EXPECT_TRUE(parse_json_object(nested(10)));
  EXPECT_FALSE(parse_json_object(nested(kMaxJsonDepth + 1)));
  EXPECT_FALSE(parse_json_object(nested(100000)));
}

TEST(HttpJson, FieldGettersDistinguishMissingNullAndWrongType) {
  auto j = *parse_json_object(
      R"({"s":"x","b":true,"i":42,"f":1.5,"n":null,"big":18446744073709551615})");
  EXPECT_TRUE(get_string_field(j, "s").ok());
  EXPECT_EQ(get_string_field(j, "s").value, "x");
  EXPECT_EQ(get_string_field(j, "missing").status, FieldStatus::Missing);
  EXPECT_EQ(get_string_field(j, "n").status, FieldStatus::Null);
  EXPECT_EQ(get_string_field(j, "i").status, FieldStatus::WrongType);

  EXPECT_EQ(get_bool_field(j, "b").value, true);
  EXPECT_EQ(get_bool_field(j, "s").status, FieldStatus::WrongType);

  EXPECT_EQ(get_int_field(j, "i").value, 42);
  EXPECT_EQ(get_int_field(j, "f").status, FieldStatus::WrongType);
  EXPECT_EQ(get_int_field(j, "big").status, FieldStatus::WrongType);
  EXPECT_EQ(get_int_field(j, "b").status, FieldStatus::WrongType);
}

}  // namespace
}  // namespace secretsd::http
