// A node's whole life, as README.md "### A node's whole life" tells it: the
// admin registers a node for a household, the node runs its worker under
// `secrets run --watch` (the real client binary), a change made in the web
// page restarts the worker with the new value, and after the node is revoked
// the client stops the worker and exits 4 (not authorised) at the next
// change instead of running on with stale secrets.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { binDir, screenshot, skipReason, startStack } from "./lib/stack.mjs";

const skip = skipReason() ?? false;
let stack;
let page;
let household;
let token;
let node; // {node_id, api_key}
let client; // the `secrets run --watch` child process
let clientExit; // resolves to {code, signal}
let clientStderr = "";
let workDir;
let outFile;
const email = `node-life-${process.pid}@example.test`;
const password = "correct horse battery staple";
const nodeId = `node-life-${process.pid}`;

// The worker writes "$WORKER_GREETING <its pid>" once at start, then idles;
// exec so that the client's SIGTERM reaches the sleep, not a waiting shell.
const WORKER = 'echo "$WORKER_GREETING $$" >> "$NODE_LIFE_OUT"; exec sleep 600';

before(async () => {
  if (skip) return;
  stack = await startStack();
  const reg = await stack.api("POST", "/api/v0/auth/register", { email, password, household_name: "Node home" });
  assert.equal(reg.status, 202, `register: ${JSON.stringify(reg.json)}`);
  // Registration hands out no tokens: sign in.
  const signedIn = await stack.api("POST", "/api/v0/auth/login", { email, password });
  assert.equal(signedIn.status, 200, `login: ${JSON.stringify(signedIn.json)}`);
  household = signedIn.json.household_id;
  token = signedIn.json.access_token;
  workDir = mkdtempSync(path.join(tmpdir(), "node-life-"));
  outFile = path.join(workDir, "worker.out");
  page = await stack.browser.newPage();
});

after(async () => {
  if (client && client.exitCode === null && client.signalCode === null) {
    client.kill("SIGKILL");
    await clientExit;
  }
  if (workerPids().length) for (const pid of workerPids()) killQuietly(pid);
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  if (stack) await stack.stop();
});

function killQuietly(pid) {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// The worker's lines: [{greeting, pid}], oldest first.
function lines() {
  if (!existsSync(outFile)) return [];
  return readFileSync(outFile, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [greeting, pid] = l.split(" ");
      return { greeting, pid: Number(pid) };
    });
}

function workerPids() {
  return lines().map((l) => l.pid).filter((pid) => pid > 0 && alive(pid));
}

async function waitFor(what, predicate, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (predicate()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what} within ${ms} ms; worker lines ${JSON.stringify(lines())}; client stderr:\n${clientStderr}`);
}

test("the admin registers a node for the household of the user", { skip }, async () => {
  const res = await stack.api("POST", "/api/v0/admin/nodes", { node_id: nodeId, household_id: household }, {
    "X-Admin-Key": stack.adminKey,
  });
  assert.equal(res.status, 201, `create node: ${JSON.stringify(res.json)}`);
  assert.equal(res.json.node_id, nodeId);
  assert.equal(res.json.household_id, household);
  assert.ok(res.json.api_key, "the api key is shown once");
  node = res.json;
});

test("the user creates the integration secret the worker needs", { skip }, async () => {
  const res = await stack.api("POST", "/api/secrets", { key: "WORKER_GREETING", value: "hello-1" }, {
    Authorization: `Bearer ${token}`,
  });
  assert.equal(res.status, 200, `create secret: ${JSON.stringify(res.json)}`);
});

test("secrets run --watch starts the worker with the value", { skip }, async () => {
  client = spawn(path.join(binDir, "secrets"), ["run", "--watch", "--grace", "2", "--", "sh", "-c", WORKER], {
    env: {
      PATH: process.env.PATH,
      SECRETS_URL: stack.base,
      SECRETS_API_KEY: `${node.node_id}:${node.api_key}`,
      NODE_LIFE_OUT: outFile,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  client.stderr.on("data", (d) => (clientStderr += d.toString()));
  clientExit = new Promise((r) => client.once("exit", (code, signal) => r({ code, signal })));
  await waitFor("the worker writes hello-1", () => lines().length === 1, 10000);
  assert.equal(lines()[0].greeting, "hello-1");
  assert.ok(alive(lines()[0].pid), "the worker runs");
  assert.equal(client.exitCode, null, "secrets keeps running");
});

test("a change in the web page restarts the worker with the new value", { skip }, async () => {
  await page.goto(`${stack.base}/settings`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByLabel("Password", { exact: true }).press("Enter");
  await page.getByText(`Signed in as ${email}`).waitFor();
  await page.getByRole("tab", { name: "Secrets" }).click();
  await page.locator('tr[data-key="WORKER_GREETING"]').waitFor();

  const first = lines()[0];
  await page.getByRole("button", { name: "Edit WORKER_GREETING" }).click();
  const dialog = page.getByRole("dialog", { name: "Edit WORKER_GREETING" });
  await dialog.waitFor();
  await dialog.getByLabel("Value").fill("hello-2");
  await dialog.getByRole("button", { name: "Save" }).click();
  await page.getByText("Saved WORKER_GREETING.").waitFor();
  await screenshot(page, "node-life-01-edited");

  await waitFor("the worker restarts with hello-2", () => lines().length >= 2, 10000);
  const second = lines()[1];
  assert.equal(lines().length, 2, "one change, one restart");
  assert.equal(second.greeting, "hello-2");
  assert.notEqual(second.pid, first.pid, "a new worker process");
  await waitFor("the old worker is stopped", () => !alive(first.pid), 5000);
  assert.ok(alive(second.pid), "the new worker runs");
  assert.equal(client.exitCode, null, "secrets keeps running");
  assert.match(clientStderr, /a secret changed: restarting the command/);
  assert.doesNotMatch(clientStderr, /hello-/, "no value on the client's stderr");
});

test("after the node is revoked the client stops the worker and exits 4", { skip }, async () => {
  const res = await stack.api("DELETE", `/api/v0/admin/nodes/${nodeId}`, undefined, { "X-Admin-Key": stack.adminKey });
  assert.equal(res.status, 204, `revoke: ${JSON.stringify(res.json)}`);
  const direct = await stack.api("GET", "/api/secrets/WORKER_GREETING", undefined, {
    "X-API-Key": `${node.node_id}:${node.api_key}`,
  });
  assert.equal(direct.status, 401, "the revoked key reads nothing");

  // The open stream is not cut at revocation; the next change makes the
  // client fetch the values again, which is refused: it stops the worker
  // rather than run it on with stale values, and exits 4 (not authorised).
  const worker = lines()[1].pid;
  const change = await stack.api("PUT", "/api/secrets/WORKER_GREETING", { value: "hello-3" }, {
    Authorization: `Bearer ${token}`,
  });
  assert.equal(change.status, 200);
  const { code } = await Promise.race([
    clientExit,
    new Promise((r) => setTimeout(() => r({ code: "still running after 10 s" }), 10000)),
  ]);
  assert.equal(code, 4, `exit code; client stderr:\n${clientStderr}`);
  assert.equal(alive(worker), false, "the worker is stopped");
  assert.equal(lines().length, 2, "no worker started with hello-3");
  assert.doesNotMatch(clientStderr, /hello-/, "no value on the client's stderr");
  assert.doesNotMatch(clientStderr, new RegExp(node.api_key), "no key on the client's stderr");
});
