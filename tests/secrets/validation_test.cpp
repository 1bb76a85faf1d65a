// The /api/secrets request readers (secrets/validation.h, and If-Match of
// api/readers.h): what they refuse
// with 400 and which text the client gets (README "Secrets API"), and the
// defaults they fill in. Whether a key or scope is valid is the extension's
// rule and is tested there; here only the HTTP-level bounds and shapes.
#include "secrets/validation.h"

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <gtest/gtest.h>
#include <httplib.h>

#include "api/readers.h"

namespace secretsd::secrets {
namespace {

// A request with the given query parameters (repeats allowed), headers and
// body, seen through api::Request as the readers see it.
struct TestRequest {
  httplib::Request raw;
  std::string body;
  api::Request view() const { return api::Request(raw, body); }
};

TestRequest request(std::initializer_list<std::pair<std::string, std::string>> params = {},
                    std::initializer_list<std::pair<std::string, std::string>> headers = {}) {
  TestRequest req;
  for (const auto& [name, value] : params) req.raw.params.emplace(name, value);
  for (const auto& [name, value] : headers) req.raw.headers.emplace(name, value);
  return req;
}

// The readers under test, given a TestRequest (and a body where they read one).
Result<Scope> read_scope(const TestRequest& r, const nlohmann::json* body, const ScopeDefaults& d) {
  return secrets::read_scope(r.view(), body, d);
}
Result<ListQuery> read_list_query(const TestRequest& r) { return secrets::read_list_query(r.view()); }
Result<std::optional<int>> read_version_query(const TestRequest& r) {
  return secrets::read_version_query(r.view());
}
Result<std::optional<int>> read_if_match(const TestRequest& r) { return api::if_match(r.view()); }
using api::etag_for;
using api::kAnyVersion;
template <typename Reader>
auto with_body(Reader reader, TestRequest r, std::string body, const ScopeDefaults& d) {
  r.body = std::move(body);
  return reader(r.view(), d);
}
Result<CreateRequest> read_create_request(TestRequest r, std::string body, const ScopeDefaults& d) {
  return with_body(secrets::read_create_request, std::move(r), std::move(body), d);
}
Result<UpdateRequest> read_update_request(TestRequest r, std::string body, const ScopeDefaults& d) {
  return with_body(secrets::read_update_request, std::move(r), std::move(body), d);
}
Result<RollbackRequest> read_rollback_request(TestRequest r, std::string body,
                                              const ScopeDefaults& d) {
  return with_body(secrets::read_rollback_request, std::move(r), std::move(body), d);
}
Result<Scope> read_restore_request(TestRequest r, std::string body, const ScopeDefaults& d) {
  return with_body(secrets::read_restore_request, std::move(r), std::move(body), d);
}

// The 400 message of a reader's answer, or a failure when it accepted.
template <typename T>
std::string error_of(const Result<T>& result) {
  if (const auto* e = result.error()) {
    EXPECT_EQ(e->status, 400) << e->message;
    return e->message;
  }
  ADD_FAILURE() << "accepted, expected a 400";
  return "";
}

// The accepted value of a reader's answer (a failure names the refusal).
template <typename T>
T value_of(Result<T> result) {
  if (const auto* e = result.error()) {
    ADD_FAILURE() << "refused with " << e->status << ": " << e->message;
    return T{};
  }
  return std::move(result).value();
}

const ScopeDefaults kUser{};
const ScopeDefaults kNode{"node-7"};
const std::string kNameRule = " must be at most 1024 bytes of printable UTF-8";

// ---------------------------------------------------------------- the key

TEST(CheckKeyText, AcceptsPrintableUtf8UpTo1024Bytes) {
  EXPECT_FALSE(check_key_text("MY_API_KEY"));
  EXPECT_FALSE(check_key_text(std::string(kMaxNameBytes, 'K')));
  // Lower case and spaces are the extension's to refuse (secrets.check_key).
  EXPECT_FALSE(check_key_text("not valid for the extension"));
  EXPECT_FALSE(check_key_text("SCHL\xC3\x9C" "SSEL"));
}

TEST(CheckKeyText, RefusesTooLongNulControlAndInvalidUtf8) {
  for (const std::string& key :
       {std::string(kMaxNameBytes + 1, 'K'), std::string("A\0B", 3), std::string("A\nB"),
        std::string("A\xFF" "B"), std::string("\xC3")}) {
    auto error = check_key_text(key);
    ASSERT_TRUE(error) << "accepted " << key.size() << " bytes";
    EXPECT_EQ(error->status, 400);
    EXPECT_EQ(error->message, "key" + kNameRule);
  }
}

// ---------------------------------------------------------------- scope and node_id

TEST(ReadScope, DefaultsToIntegration) {
  auto s = value_of(read_scope(request(), nullptr, kUser));
  EXPECT_EQ(s.scope, "integration");
  EXPECT_EQ(s.node_id, "");
}

TEST(ReadScope, ANodeIdAloneMeansScopeNode) {
  auto s = value_of(read_scope(request({{"node_id", "n1"}}), nullptr, kUser));
  EXPECT_EQ(s.scope, "node");
  EXPECT_EQ(s.node_id, "n1");
}

TEST(ReadScope, ANodeAskingForScopeNodeMeansItsOwnNode) {
  auto s = value_of(read_scope(request({{"scope", "node"}}), nullptr, kNode));
  EXPECT_EQ(s.scope, "node");
  EXPECT_EQ(s.node_id, "node-7");
  // An explicit node_id is kept as sent (the statement judges the pair).
  s = value_of(read_scope(request({{"scope", "node"}, {"node_id", "other"}}), nullptr, kNode));
  EXPECT_EQ(s.node_id, "other");
  // Integration scope gets no node id from the caller.
  s = value_of(read_scope(request(), nullptr, kNode));
  EXPECT_EQ(s.scope, "integration");
  EXPECT_EQ(s.node_id, "");
}

TEST(ReadScope, ScopeNodeForAUserLeavesTheNodeIdEmpty) {
  auto s = value_of(read_scope(request({{"scope", "node"}}), nullptr, kUser));
  EXPECT_EQ(s.scope, "node");
  EXPECT_EQ(s.node_id, "");
}

TEST(ReadScope, TheBodyCountsLikeTheQuery) {
  nlohmann::json body = {{"scope", "node"}, {"node_id", "n2"}};
  auto s = value_of(read_scope(request(), &body, kUser));
  EXPECT_EQ(s.scope, "node");
  EXPECT_EQ(s.node_id, "n2");
  // null is absent
  body = {{"scope", nullptr}, {"node_id", nullptr}};
  s = value_of(read_scope(request(), &body, kUser));
  EXPECT_EQ(s.scope, "integration");
}

TEST(ReadScope, QueryAndBodyMustAgree) {
  nlohmann::json body = {{"scope", "node"}, {"node_id", "n1"}};
  auto s = value_of(read_scope(request({{"scope", "node"}, {"node_id", "n1"}}), &body, kUser));
  EXPECT_EQ(s.node_id, "n1");
  EXPECT_EQ(error_of(read_scope(request({{"scope", "integration"}}), &body, kUser)),
            "scope differs between the query string and the body");
  EXPECT_EQ(error_of(read_scope(request({{"node_id", "n9"}}), &body, kUser)),
            "node_id differs between the query string and the body");
}

TEST(ReadScope, RefusesRepeatedParametersWrongTypesAndBadText) {
  EXPECT_EQ(error_of(read_scope(request({{"scope", "node"}, {"scope", "node"}}), nullptr, kUser)),
            "scope must be given at most once");
  EXPECT_EQ(error_of(read_scope(request({{"node_id", "a"}, {"node_id", "b"}}), nullptr, kUser)),
            "node_id must be given at most once");
  nlohmann::json body = {{"scope", 3}};
  EXPECT_EQ(error_of(read_scope(request(), &body, kUser)), "scope must be a string");
  body = {{"node_id", {"n1"}}};
  EXPECT_EQ(error_of(read_scope(request(), &body, kUser)), "node_id must be a string");
  EXPECT_EQ(error_of(read_scope(request({{"scope", std::string("node\0x", 6)}}), nullptr, kUser)),
            "scope" + kNameRule);
  EXPECT_EQ(error_of(read_scope(request({{"node_id", std::string(kMaxNameBytes + 1, 'n')}}), nullptr, kUser)),
            "node_id" + kNameRule);
}

// ---------------------------------------------------------------- list query

TEST(ReadListQuery, Defaults) {
  auto q = value_of(read_list_query(request()));
  EXPECT_EQ(q.scope, "");
  EXPECT_EQ(q.node_id, "");
  EXPECT_EQ(q.limit, kDefaultPageSize);
  EXPECT_EQ(q.offset, 0);
}

TEST(ReadListQuery, FiltersAndPageBounds) {
  auto q = value_of(read_list_query(
      request({{"scope", "node"}, {"node_id", "n1"}, {"limit", "500"}, {"offset", "123456789012"}})));
  EXPECT_EQ(q.scope, "node");
  EXPECT_EQ(q.node_id, "n1");
  EXPECT_EQ(q.limit, kMaxPageSize);
  EXPECT_EQ(q.offset, 123456789012LL);
  EXPECT_EQ(value_of(read_list_query(request({{"limit", "1"}}))).limit, 1);
  EXPECT_EQ(value_of(read_list_query(request({{"offset", "0"}}))).offset, 0);
  // A node_id filters rows; it does not turn the scope into "node".
  EXPECT_EQ(value_of(read_list_query(request({{"node_id", "n1"}}))).scope, "");
}

TEST(ReadListQuery, RefusesLimitsOutside1To500) {
  for (const char* limit : {"0", "501", "-1", "+5", " 5", "5 ", "5x", "", "1.5", "99999999999999999999"}) {
    EXPECT_EQ(error_of(read_list_query(request({{"limit", limit}}))), "limit must be an integer from 1 to 500")
        << "limit=" << limit;
  }
}

TEST(ReadListQuery, RefusesNegativeOrNonNumericOffsets) {
  for (const char* offset : {"-1", "+1", "x", "", "1e3", "9999999999999999999"}) {
    EXPECT_EQ(error_of(read_list_query(request({{"offset", offset}}))), "offset must be a non-negative integer")
        << "offset=" << offset;
  }
}

TEST(ReadListQuery, RefusesRepeatedParametersAndBadText) {
  for (const char* name : {"scope", "node_id", "limit", "offset"}) {
    EXPECT_EQ(error_of(read_list_query(request({{name, "1"}, {name, "1"}}))),
              std::string(name) + " must be given at most once");
  }
  EXPECT_EQ(error_of(read_list_query(request({{"scope", "\x01"}}))), "scope" + kNameRule);
  EXPECT_EQ(error_of(read_list_query(request({{"node_id", "\xC0\x80"}}))), "node_id" + kNameRule);
}

// ---------------------------------------------------------------- If-Match and ?version

TEST(EtagFor, QuotesTheVersion) { EXPECT_EQ(etag_for(12), "\"v12\""); }

TEST(ReadIfMatch, AbsentStarAndOneStrongEtag) {
  EXPECT_EQ(value_of(read_if_match(request())), std::nullopt);
  EXPECT_EQ(value_of(read_if_match(request({}, {{"If-Match", "*"}}))), kAnyVersion);
  EXPECT_EQ(value_of(read_if_match(request({}, {{"If-Match", "\"v1\""}}))), 1);
  EXPECT_EQ(value_of(read_if_match(request({}, {{"If-Match", " \t\"v2147483647\" "}}))), 2147483647);
  // The reader accepts what etag_for writes.
  EXPECT_EQ(value_of(read_if_match(request({}, {{"If-Match", etag_for(42)}}))), 42);
}

TEST(ReadIfMatch, RefusesWeakListedAndMalformedEtags) {
  const std::string message = "If-Match must be one ETag of this API (\"v<version>\") or *";
  for (const char* value : {"W/\"v1\"", "\"v1\", \"v2\"", "v1", "\"1\"", "\"v\"", "\"v0\"", "\"v-1\"",
                            "\"v2147483648\"", "\"v1x\"", "\"V1\"", "", "  ", "**", "\"*\""}) {
    EXPECT_EQ(error_of(read_if_match(request({}, {{"If-Match", value}}))), message) << "If-Match: " << value;
  }
  EXPECT_EQ(error_of(read_if_match(request({}, {{"If-Match", "\"v1\""}, {"If-Match", "\"v1\""}}))), message);
}

TEST(ReadVersionQuery, AbsentOrFrom1To2147483647) {
  EXPECT_EQ(value_of(read_version_query(request())), std::nullopt);
  EXPECT_EQ(value_of(read_version_query(request({{"version", "1"}}))), 1);
  EXPECT_EQ(value_of(read_version_query(request({{"version", "2147483647"}}))), 2147483647);
  for (const char* v : {"0", "-1", "2147483648", "1.0", "x", ""}) {
    EXPECT_EQ(error_of(read_version_query(request({{"version", v}}))),
              "version must be an integer from 1 to 2147483647")
        << "version=" << v;
  }
  EXPECT_EQ(error_of(read_version_query(request({{"version", "1"}, {"version", "2"}}))),
            "version must be given at most once");
}

// ---------------------------------------------------------------- POST /api/secrets

TEST(ReadCreateRequest, ReadsEveryField) {
  auto r = value_of(read_create_request(
      request(), R"({"key":"MY_KEY","value":"v","value_type":"int","description":"d","node_id":"n1"})", kUser));
  EXPECT_EQ(r.key, "MY_KEY");
  EXPECT_EQ(r.value, "v");
  EXPECT_EQ(r.value_type, "int");
  EXPECT_EQ(r.description, "d");
  EXPECT_EQ(r.scope.scope, "node");
  EXPECT_EQ(r.scope.node_id, "n1");
}

TEST(ReadCreateRequest, Defaults) {
  auto r = value_of(read_create_request(request(), R"({"key":"K","value":"","description":null})", kUser));
  EXPECT_EQ(r.value, "");
  EXPECT_EQ(r.value_type, "string");
  EXPECT_EQ(r.description, std::nullopt);
  EXPECT_EQ(r.scope.scope, "integration");
}

TEST(ReadCreateRequest, RefusesBadBodies) {
  const std::string not_object = "Request body must be a JSON object";
  for (const char* body : {"", "[]", "\"x\"", "{", "{\"key\":\"K\",}", "null"}) {
    EXPECT_EQ(error_of(read_create_request(request(), body, kUser)), not_object) << body;
  }
  struct Case {
    std::string body;
    std::string message;
  };
  const std::string big_value(kMaxValueBytes + 1, 'v');
  const std::string big_description(kMaxDescriptionBytes + 1, 'd');
  for (const Case& c : std::initializer_list<Case>{
           {R"({"value":"v"})", "key is required"},
           {R"({"key":null,"value":"v"})", "key is required"},
           {R"({"key":5,"value":"v"})", "key must be a string"},
           {R"({"key":"K"})", "value is required"},
           {R"({"key":"K","value":null})", "value is required"},
           {R"({"key":"K","value":{}})", "value must be a string"},
           {R"({"key":"K","value":"v","value_type":1})", "value_type must be a string"},
           {R"({"key":"K","value":"v","description":false})", "description must be a string"},
           {R"({"key":"K","value":"v","scope":[]})", "scope must be a string"},
           {R"({"key":"K\nX","value":"v"})", "key" + kNameRule},
           {R"({"key":")" + std::string(kMaxNameBytes + 1, 'K') + R"(","value":"v"})", "key" + kNameRule},
           // PostgreSQL text cannot hold U+0000: the body is refused whole (http/json_io.h)
           {R"({"key":"K\u0000X","value":"v"})", "Request body must be a JSON object"},
           {R"({"key":"K","value":"v","value_type":"\u0007"})", "value_type" + kNameRule},
           {R"({"key":"K","value":")" + big_value + "\"}", "value must be 65536 bytes or less"},
           {R"({"key":"K","value":"v","description":")" + big_description + "\"}",
            "description must be 4096 bytes or less"},
       }) {
    EXPECT_EQ(error_of(read_create_request(request(), c.body, kUser)), c.message) << c.body.substr(0, 80);
  }
}

TEST(ReadCreateRequest, AcceptsTheLargestValueAndDescription) {
  const std::string body = R"({"key":"K","value":")" + std::string(kMaxValueBytes, 'v') +
                           R"(","description":")" + std::string(kMaxDescriptionBytes, 'd') + "\"}";
  auto r = value_of(read_create_request(request(), body, kUser));
  EXPECT_EQ(r.value.size(), kMaxValueBytes);
  EXPECT_EQ(r.description->size(), kMaxDescriptionBytes);
}

TEST(ReadCreateRequest, ScopeFromQueryMustAgreeWithTheBody) {
  EXPECT_EQ(error_of(read_create_request(request({{"scope", "node"}}),
                                         R"({"key":"K","value":"v","scope":"integration"})", kUser)),
            "scope differs between the query string and the body");
  auto r = value_of(read_create_request(request({{"scope", "node"}}), R"({"key":"K","value":"v"})", kNode));
  EXPECT_EQ(r.scope.node_id, "node-7");
}

// ---------------------------------------------------------------- PUT /api/secrets/{key}

TEST(ReadUpdateRequest, ValueOrDescriptionOrBoth) {
  auto r = value_of(read_update_request(request(), R"({"value":"v2"})", kUser));
  EXPECT_EQ(r.value, "v2");
  EXPECT_EQ(r.description, std::nullopt);
  r = value_of(read_update_request(request(), R"({"description":"d"})", kUser));
  EXPECT_EQ(r.value, std::nullopt);
  EXPECT_EQ(r.description, "d");
  r = value_of(read_update_request(request(), R"({"value":"","description":"","scope":"node"})", kNode));
  EXPECT_EQ(r.value, "");
  EXPECT_EQ(r.description, "");
  EXPECT_EQ(r.scope.node_id, "node-7");
}

TEST(ReadUpdateRequest, RefusesBadBodies) {
  struct Case {
    std::string body;
    std::string message;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"", "Request body must be a JSON object"},
           {"[1]", "Request body must be a JSON object"},
           {"{}", "Provide a value, a description, or both"},
           {R"({"description":null})", "Provide a value, a description, or both"},
           {R"({"scope":"node"})", "Provide a value, a description, or both"},
           // null would mean "erase": the API has no such verb
           {R"({"value":null})", "value must be a string"},
           {R"({"value":1})", "value must be a string"},
           {R"({"description":1})", "description must be a string"},
           {R"({"value":")" + std::string(kMaxValueBytes + 1, 'v') + "\"}", "value must be 65536 bytes or less"},
           {R"({"description":")" + std::string(kMaxDescriptionBytes + 1, 'd') + "\"}",
            "description must be 4096 bytes or less"},
           {R"({"value":"v","node_id":7})", "node_id must be a string"},
       }) {
    EXPECT_EQ(error_of(read_update_request(request(), c.body, kUser)), c.message) << c.body.substr(0, 80);
  }
}

// ---------------------------------------------------------------- rollback and restore

TEST(ReadRollbackRequest, ReadsTheVersionAndScope) {
  auto r = value_of(read_rollback_request(request({{"node_id", "n1"}}), R"({"version":3})", kUser));
  EXPECT_EQ(r.version, 3);
  EXPECT_EQ(r.scope.scope, "node");
  EXPECT_EQ(r.scope.node_id, "n1");
  EXPECT_EQ(value_of(read_rollback_request(request(), R"({"version":2147483647})", kUser)).version, 2147483647);
}

TEST(ReadRollbackRequest, RefusesMissingAndOutOfRangeVersions) {
  EXPECT_EQ(error_of(read_rollback_request(request(), "{}", kUser)), "version is required");
  EXPECT_EQ(error_of(read_rollback_request(request(), R"({"version":null})", kUser)), "version is required");
  for (const char* body : {R"({"version":0})", R"({"version":-1})", R"({"version":2147483648})",
                           R"({"version":1.5})", R"({"version":"3"})", R"({"version":true})"}) {
    EXPECT_EQ(error_of(read_rollback_request(request(), body, kUser)),
              "version must be an integer from 1 to 2147483647")
        << body;
  }
  EXPECT_EQ(error_of(read_rollback_request(request(), "", kUser)), "Request body must be a JSON object");
  EXPECT_EQ(error_of(read_rollback_request(request({{"scope", "node"}}), R"({"version":1,"scope":"integration"})",
                                           kUser)),
            "scope differs between the query string and the body");
}

TEST(ReadRestoreRequest, AnEmptyBodyOrAnObject) {
  auto s = value_of(read_restore_request(request({{"scope", "node"}}), "", kNode));
  EXPECT_EQ(s.scope, "node");
  EXPECT_EQ(s.node_id, "node-7");
  s = value_of(read_restore_request(request(), R"({"node_id":"n3"})", kUser));
  EXPECT_EQ(s.scope, "node");
  EXPECT_EQ(s.node_id, "n3");
  EXPECT_EQ(value_of(read_restore_request(request(), "{}", kUser)).scope, "integration");
  EXPECT_EQ(error_of(read_restore_request(request(), "not json", kUser)), "Request body must be a JSON object");
  EXPECT_EQ(error_of(read_restore_request(request(), R"({"scope":1})", kUser)), "scope must be a string");
}

}  // namespace
}  // namespace secretsd::secrets
