// Validates every response the integration tests received (recorded by
// tests/support/response_recorder.cpp, one JSON line per
// exchange) against service/openapi/openapi.json: the operation must be
// documented, the status documented for it, the content type documented for
// that status, and a JSON body valid against its schema (OpenAPI 3.1 schemas
// are JSON Schema 2020-12: ajv's 2020 dialect). A path no route matches
// (404) and a method a path lacks (405) are checked against the Error schema.
//
//   node validate_responses.mjs DOCUMENT RECORD
//
// The record holds test secrets only, but it is deleted here once read.
import { readFileSync, rmSync, existsSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const [docPath, recordPath] = process.argv.slice(2);
if (!docPath || !recordPath) {
  console.error("usage: validate_responses.mjs DOCUMENT RECORD");
  process.exit(2);
}
if (!existsSync(recordPath)) {
  // No integration test ran with a database (or none recorded): nothing to
  // check only when there is no database at all.
  if (process.env.PGSECRETS_TEST_DB === "1") {
    console.error(`no recorded responses at ${recordPath}: did the integration tests run?`);
    process.exit(1);
  }
  console.log("SKIPPED: no test database, no recorded responses");
  process.exit(77);
}
let lines;
try {
  lines = readFileSync(recordPath, "utf8").split("\n").filter((l) => l.length > 0);
} finally {
  rmSync(recordPath, { force: true });
}

const doc = JSON.parse(readFileSync(docPath, "utf8"));
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(doc, "openapi.json");

const pointer = (...parts) =>
  "openapi.json#/" + parts.map((p) => String(p).replace(/~/g, "~0").replace(/\//g, "~1")).join("/");
const validators = new Map();
function validatorFor(ref) {
  if (!validators.has(ref)) validators.set(ref, ajv.compile({ $ref: ref }));
  return validators.get(ref);
}

// Templates to regexes: literal paths first, then one segment per
// parameter, then a parameter that may span segments (the server's (.+)).
const templates = Object.keys(doc.paths);
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const matcher = (t, param) => new RegExp("^" + t.split(/(\{[^}]+\})/).map((p) => (p.startsWith("{") ? param : escape(p))).join("") + "$");
const tiers = [
  templates.filter((t) => !t.includes("{")).map((t) => [t, matcher(t, "")]),
  templates.filter((t) => t.includes("{")).map((t) => [t, matcher(t, "[^/]+")]),
  templates.filter((t) => t.includes("{")).map((t) => [t, matcher(t, ".+")]),
];
function findPath(path) {
  for (const tier of tiers) for (const [t, re] of tier) if (re.test(path)) return t;
  return null;
}

const resolve = (obj) => {
  while (obj && obj.$ref) {
    obj = obj.$ref.slice(2).split("/").map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~")).reduce((o, k) => o[k], doc);
  }
  return obj;
};
const bare = (ct) => (ct || "").split(";")[0].trim().toLowerCase();

const failures = new Map();  // one report per distinct problem
function fail(rec, why) {
  const key = `${rec.method} ${rec.template ?? rec.path} ${rec.status}: ${why}`;
  failures.set(key, (failures.get(key) ?? 0) + 1);
}

function checkJson(rec, ref) {
  let body;
  try {
    body = JSON.parse(rec.body);
  } catch {
    return fail(rec, "the body is not JSON");
  }
  const validate = validatorFor(ref);
  if (!validate(body)) {
    fail(rec, "body does not match " + ref.slice("openapi.json#".length) + ": " +
      validate.errors.map((e) => `${e.instancePath || "/"} ${e.message}`).join("; "));
  }
}

let checked = 0;
const exercised = new Set();  // "METHOD template", for the summary
for (const line of lines) {
  const rec = JSON.parse(line);
  rec.path = rec.path.split("?")[0];
  const isHead = rec.method === "HEAD";
  const method = (isHead ? "GET" : rec.method).toLowerCase();
  rec.template = findPath(rec.path);
  const operation = rec.template ? doc.paths[rec.template][method] : undefined;
  checked += 1;
  if (operation) exercised.add(`${method} ${rec.template}`);
  if (!operation) {
    if (rec.status === 404 || rec.status === 405) {
      if (!isHead) checkJson(rec, "openapi.json#/components/schemas/Error");
    } else {
      fail(rec, "no documented operation");
    }
    continue;
  }
  const response = resolve(operation.responses[String(rec.status)]);
  if (!response) {
    fail(rec, "status not documented");
    continue;
  }
  if (isHead) continue;  // no body to check
  const content = response.content;
  if (!content) {
    if (rec.body.length !== 0) fail(rec, "a body where the document has none");
    continue;
  }
  const media = Object.keys(content).find((m) => bare(m) === bare(rec.content_type));
  if (!media) {
    fail(rec, `content type ${bare(rec.content_type) || "(none)"} not documented`);
    continue;
  }
  if (bare(media) !== "application/json") continue;
  const where = operation.responses[String(rec.status)].$ref
    ? operation.responses[String(rec.status)].$ref.slice(2).split("/").concat(["content", media, "schema"])
    : ["paths", rec.template, method, "responses", String(rec.status), "content", media, "schema"];
  checkJson(rec, pointer(...where));
}

if (failures.size > 0) {
  console.error(`${failures.size} kinds of responses do not match service/openapi/openapi.json:`);
  for (const [what, n] of failures) console.error(`  ${what} (x${n})`);
  process.exit(1);
}
const unexercised = [];
for (const [template, item] of Object.entries(doc.paths)) {
  for (const m of Object.keys(item).filter((k) => k !== "parameters")) {
    if (!exercised.has(`${m} ${template}`)) unexercised.push(`${m.toUpperCase()} ${template}`);
  }
}
console.log(`${checked} responses match service/openapi/openapi.json; operations no test called: ` +
  (unexercised.join(", ") || "none"));
