// One CTest entry per browser test: the file's tests run once (they share a
// browser and the secretsd stack, and build on each other's state), writing
// TAP; this reports one test's outcome from that TAP.
//   node case_result.mjs FILE.tap "test name"
// Exit 0: passed; 1: failed or missing; 77: skipped (CTest's SKIP_RETURN_CODE).
import { readFileSync } from "node:fs";

const [tapPath, name] = process.argv.slice(2);
let tap;
try {
  tap = readFileSync(tapPath, "utf8");
} catch {
  console.log(`no results at ${tapPath}: the file's run did not finish`);
  process.exit(1);
}
// Results ("ok 3 - name # SKIP reason"), indented under the file that node
// --test ran them in; node escapes # and \ in names.
const unescape = (s) => s.replace(/\\([#\\])/g, "$1");
for (const line of tap.split("\n")) {
  const m = /^\s*(not )?ok \d+ - (.*?)(?: # (SKIP|TODO)\b(.*))?$/.exec(line);
  if (!m || unescape(m[2]) !== name) continue;
  if (m[3] === "SKIP") {
    console.log(`# SKIP${m[4] ?? ""}`);
    process.exit(77);
  }
  console.log(m[1] ? "failed (see the file's run for its output)" : "passed");
  process.exit(m[1] ? 1 : 0);
}
console.log(`"${name}" is not in ${tapPath}`);
process.exit(1);
