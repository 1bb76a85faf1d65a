// The Provider settings tab, as the administrator uses it: sign in with the
// admin key, add a sensitive setting, see it masked, edit it, and see the
// restart outcome of a runtime that consumes it. The runtime is a loopback
// URL served by a tiny HTTP server in this test, registered through
// POST /internal/runtimes with app credentials. Screenshots go to
// build/test-artifacts/browser/.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { screenshot, skipReason, startStack } from "./lib/stack.mjs";

const skip = skipReason() ?? false;  // false, not null: node 20 reports a null skip as "# SKIP"
let stack;
let page;
let runtime;
const restartCalls = [];
const SETTING = "llm_api_key";
const FIRST = "sk-ui-first-0123456789-abcd";
const SECOND = "sk-ui-second-9876543210-wxyz";

// Answers 200 to every restart call and remembers it.
async function startRuntime() {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      restartCalls.push({ method: req.method, url: req.url, body });
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

before(async () => {
  if (skip) return;
  stack = await startStack();
  runtime = await startRuntime();
  const appId = `ui-provisioner-${process.pid}`;
  const app = await stack.api("POST", "/api/v0/admin/apps", { app_id: appId }, { "X-Admin-Key": stack.adminKey });
  assert.equal(app.status, 201, `create app: ${app.status}`);
  const appHeaders = { "X-Jarvis-App-Id": appId, "X-Jarvis-App-Key": app.json.app_key };
  const grant = await stack.api("PUT", `/api/v0/admin/apps/${appId}/settings`, { settings: [SETTING] }, { "X-Admin-Key": stack.adminKey });
  assert.equal(grant.status, 200, `grant settings: ${grant.status}`);
  const reg = await stack.api(
    "POST",
    "/internal/runtimes",
    { id: "voice-worker", settings: [SETTING], restart: { url: `http://127.0.0.1:${runtime.address().port}/restart` } },
    appHeaders,
  );
  assert.equal(reg.status, 201, `register runtime: ${JSON.stringify(reg.json)}`);
  page = await stack.browser.newPage();
});

after(async () => {
  if (runtime) runtime.close();
  if (stack) await stack.stop();
});

test("signs in with the admin key and sees only Provider settings", { skip }, async () => {
  await page.goto(`${stack.base}/settings`);
  await page.getByLabel("Admin key").fill(stack.adminKey);
  await page.getByRole("button", { name: "Sign in as admin" }).click();
  await page.getByText("Signed in as administrator").waitFor();
  const providers = page.getByRole("tab", { name: "Provider settings" });
  assert.equal(await providers.getAttribute("aria-selected"), "true");
  assert.equal(await page.getByRole("tab", { name: "Secrets" }).isVisible(), false);
  await screenshot(page, "providers-01-signed-in");
});

test("a wrong admin key is refused inline", { skip }, async () => {
  const other = await stack.browser.newPage();
  await other.goto(`${stack.base}/settings`);
  await other.getByLabel("Admin key").fill("not-the-admin-key-not-the-admin-key");
  await other.getByRole("button", { name: "Sign in as admin" }).click();
  const alert = other.locator("#admin-error");
  await alert.waitFor();
  assert.match(await alert.textContent(), /not valid/i);
  await other.close();
});

test("adds a sensitive setting; the table masks it and the restart is shown", { skip }, async () => {
  await page.getByRole("button", { name: "Add setting" }).click();
  const dialog = page.getByRole("dialog", { name: "Add setting" });
  await dialog.waitFor();
  await dialog.getByLabel("Name").fill(SETTING);
  await dialog.getByLabel("Value").fill(FIRST);
  assert.equal(await dialog.getByLabel("Value").getAttribute("type"), "password");
  await dialog.getByLabel("Description").fill("Global LLM key");
  assert.equal(await dialog.getByLabel(/Sensitive/).isChecked(), true);
  await screenshot(page, "providers-02-add-dialog");
  await dialog.getByRole("button", { name: "Save and restart runtimes" }).click();

  const row = page.locator(`tr[data-name="${SETTING}"]`);
  await row.waitFor();
  const text = await row.innerText();
  assert.match(text, /sk-…abcd/);
  assert.match(text, /Global LLM key/);
  assert.doesNotMatch(await page.content(), new RegExp(FIRST), "the value is never rendered");

  const outcome = page.locator("#restart-list");
  await outcome.getByText(/voice-worker: ok/).waitFor();
  assert.equal(restartCalls.length, 1);
  assert.equal(JSON.parse(restartCalls[0].body).runtime_id, "voice-worker");
  assert.doesNotMatch(restartCalls[0].body, new RegExp(FIRST), "restart calls never carry the value");
  await screenshot(page, "providers-03-added");
});

test("edits the setting and sees the restart outcome of that save", { skip }, async () => {
  await page.getByRole("button", { name: `Edit ${SETTING}` }).click();
  const dialog = page.getByRole("dialog", { name: `Edit ${SETTING}` });
  await dialog.waitFor();
  await dialog.getByLabel("Value").fill(SECOND);
  await dialog.getByRole("button", { name: "Save and restart runtimes" }).click();
  await page.getByText(`Saved ${SETTING}.`).waitFor();
  await page.locator(`tr[data-name="${SETTING}"]`).getByText(/sk-…wxyz/).waitFor();
  await page.locator("#restart-list").getByText(/voice-worker: ok in \d+ ms/).waitFor();
  assert.equal(restartCalls.length, 2);
  assert.doesNotMatch(await page.content(), new RegExp(SECOND));

  const runtimes = await stack.api("GET", "/api/v0/admin/runtimes", undefined, { "X-Admin-Key": stack.adminKey });
  const voice = runtimes.json.data.find((r) => r.id === "voice-worker");
  assert.equal(voice.last_restart.status, "ok");
  await screenshot(page, "providers-04-edited");
});

test("a non-sensitive setting is shown in clear", { skip }, async () => {
  await page.getByRole("button", { name: "Add setting" }).click();
  const dialog = page.getByRole("dialog", { name: "Add setting" });
  await dialog.getByLabel("Name").fill("llm_model");
  await dialog.getByLabel("Value").fill("gpt-4o-mini");
  await dialog.getByLabel(/Sensitive/).uncheck();
  await dialog.getByRole("button", { name: "Save and restart runtimes" }).click();
  await page.locator('tr[data-name="llm_model"]').getByText("gpt-4o-mini").waitFor();
  await page.getByText("Saved llm_model; no runtime consumes it.").waitFor();
  await screenshot(page, "providers-05-plain");
});
