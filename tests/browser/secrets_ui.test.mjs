// The Secrets tab, as a person uses it: sign in, add, see a duplicate and a
// bad key refused inline, edit, delete. Fields are found by their labels and
// forms submitted from the keyboard, so the page's accessibility is tested
// along the way. Screenshots go to build/test-artifacts/browser/.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { screenshot, skipReason, startStack } from "./lib/stack.mjs";

const skip = skipReason() ?? false;
let stack;
let page;
const email = `ui-${process.pid}@example.test`;
const password = "correct horse battery staple";

before(async () => {
  if (skip) return;
  stack = await startStack();
  const reg = await stack.api("POST", "/api/v0/auth/register", { email, password, household_name: "Browser home" });
  assert.equal(reg.status, 202, `register: ${JSON.stringify(reg.json)}`);
  page = await stack.browser.newPage();
});

after(async () => {
  if (stack) await stack.stop();
});

async function tokenFor() {
  const res = await stack.api("POST", "/api/v0/auth/login", { email, password });
  return (res.json.data || res.json).access_token;
}

test("signs in with email and password", { skip }, async () => {
  await page.goto(`${stack.base}/settings`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByLabel("Password", { exact: true }).press("Enter");
  await page.getByText(`Signed in as ${email}`).waitFor();
  assert.equal(await page.getByRole("tab", { name: "Secrets" }).getAttribute("aria-selected"), "true");
  assert.equal(await page.getByRole("tab", { name: "Provider settings" }).isVisible(), false);
  await screenshot(page, "01-signed-in");
});

test("a wrong password is shown inline", { skip }, async () => {
  const other = await stack.browser.newPage();
  await other.goto(`${stack.base}/settings`);
  await other.getByLabel("Email").fill(email);
  await other.getByLabel("Password", { exact: true }).fill("not the password");
  await other.getByRole("button", { name: "Sign in", exact: true }).click();
  const alert = other.locator("#login-error");
  await alert.waitFor();
  assert.match(await alert.textContent(), /invalid/i);
  await other.close();
});

test("adds a secret through the dialog", { skip }, async () => {
  await page.getByRole("button", { name: "Add secret" }).click();
  const dialog = page.getByRole("dialog", { name: "Add secret" });
  await dialog.waitFor();
  await dialog.getByLabel("Key").fill("WEATHER_API_KEY");
  await dialog.getByLabel("Value").fill("ui-canary-value-1");
  assert.equal(await dialog.getByLabel("Value").getAttribute("type"), "password");
  await dialog.getByLabel("Description").fill("OpenWeather key");
  await screenshot(page, "02-add-dialog");
  await dialog.getByLabel("Description").press("Enter");
  await page.locator('tr[data-key="WEATHER_API_KEY"]').waitFor();
  const row = await page.locator('tr[data-key="WEATHER_API_KEY"]').innerText();
  assert.match(row, /OpenWeather key/);
  assert.match(row, /integration/);
  assert.doesNotMatch(await page.content(), /ui-canary-value-1/, "the value is never rendered");

  const token = await tokenFor();
  const got = await stack.api("GET", "/api/secrets/WEATHER_API_KEY", undefined, { Authorization: `Bearer ${token}` });
  assert.equal(got.status, 200);
  assert.equal(got.json.data.value, "ui-canary-value-1");
  await screenshot(page, "03-added");
});

test("a duplicate key and a bad key are rejected inline", { skip }, async () => {
  await page.getByRole("button", { name: "Add secret" }).click();
  const dialog = page.getByRole("dialog", { name: "Add secret" });
  await dialog.getByLabel("Key").fill("WEATHER_API_KEY");
  await dialog.getByLabel("Value").fill("another");
  await dialog.getByRole("button", { name: "Save" }).click();
  const error = dialog.getByRole("alert");
  await error.waitFor();
  assert.equal(await error.textContent(), 'Secret with key "WEATHER_API_KEY" already exists');
  await screenshot(page, "04-duplicate-rejected");

  await dialog.getByLabel("Key").fill("bad key");
  await dialog.getByRole("button", { name: "Save" }).click();
  await page.waitForFunction(() => document.querySelector("#secret-error").textContent.includes("SCREAMING_SNAKE_CASE"));
  assert.equal(await error.textContent(), "Key must be SCREAMING_SNAKE_CASE (e.g., MY_API_KEY)");
  await dialog.getByLabel("Key").press("Escape");
  await dialog.waitFor({ state: "hidden" });
  assert.equal(await page.locator("#secrets-table tbody tr").count(), 1);
});

test("edits the value and the description, not the key", { skip }, async () => {
  await page.getByRole("button", { name: "Edit WEATHER_API_KEY" }).click();
  const dialog = page.getByRole("dialog", { name: "Edit WEATHER_API_KEY" });
  await dialog.waitFor();
  assert.equal(await dialog.getByLabel("Key").getAttribute("readonly"), "");
  await dialog.getByLabel("Value").fill("ui-canary-value-2");
  await dialog.getByLabel("Description").fill("OpenWeather key (rotated)");
  await dialog.getByRole("button", { name: "Save" }).click();
  await page.getByText("Saved WEATHER_API_KEY.").waitFor();
  assert.match(await page.locator('tr[data-key="WEATHER_API_KEY"]').innerText(), /rotated/);

  const token = await tokenFor();
  const got = await stack.api("GET", "/api/secrets/WEATHER_API_KEY", undefined, { Authorization: `Bearer ${token}` });
  assert.equal(got.json.data.value, "ui-canary-value-2");
  await screenshot(page, "05-edited");
});

test("a change made elsewhere meanwhile is reported, not overwritten", { skip }, async () => {
  const token = await tokenFor();
  await page.getByRole("button", { name: "Edit WEATHER_API_KEY" }).click();
  const dialog = page.getByRole("dialog", { name: "Edit WEATHER_API_KEY" });
  await dialog.waitFor();
  const elsewhere = await stack.api("PUT", "/api/secrets/WEATHER_API_KEY", { value: "changed-elsewhere" }, {
    Authorization: `Bearer ${token}`,
  });
  assert.equal(elsewhere.status, 200);
  await dialog.getByLabel("Value").fill("ui-canary-value-3");
  await dialog.getByRole("button", { name: "Save" }).click();
  const error = dialog.getByRole("alert");
  await error.waitFor();
  assert.match(await error.textContent(), /has changed since the version in If-Match/);
  await screenshot(page, "05b-conflict");
  await dialog.getByLabel("Value").press("Escape");
  await dialog.waitFor({ state: "hidden" });

  const got = await stack.api("GET", "/api/secrets/WEATHER_API_KEY", undefined, { Authorization: `Bearer ${token}` });
  assert.equal(got.json.data.value, "changed-elsewhere", "the other writer's value stands");
  // Reopening the tab reloads the table, with the current versions.
  await Promise.all([
    page.waitForResponse((r) => r.url().includes("/api/secrets?") && r.request().method() === "GET"),
    page.getByRole("tab", { name: "Secrets" }).click(),
  ]);
  await page.locator('tr[data-key="WEATHER_API_KEY"]').waitFor();
});

test("deletes after a confirmation", { skip }, async () => {
  await page.getByRole("button", { name: "Delete WEATHER_API_KEY" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete secret" });
  await dialog.waitFor();
  assert.match(await dialog.innerText(), /WEATHER_API_KEY/);
  await screenshot(page, "06-delete-confirm");
  // Cancel keeps it.
  await dialog.getByRole("button", { name: "Cancel" }).click();
  assert.equal(await page.locator('tr[data-key="WEATHER_API_KEY"]').count(), 1);

  await page.getByRole("button", { name: "Delete WEATHER_API_KEY" }).click();
  await dialog.getByRole("button", { name: "Delete" }).click();
  await page.getByText("Deleted WEATHER_API_KEY.").waitFor();
  assert.equal(await page.locator('tr[data-key="WEATHER_API_KEY"]').count(), 0);

  const token = await tokenFor();
  const got = await stack.api("GET", "/api/secrets/WEATHER_API_KEY", undefined, { Authorization: `Bearer ${token}` });
  assert.equal(got.status, 404);
  await screenshot(page, "07-deleted");
});

test("the page loads nothing from other hosts", { skip }, async () => {
  const requests = [];
  const fresh = await stack.browser.newPage();
  fresh.on("request", (r) => requests.push(r.url()));
  await fresh.goto(`${stack.base}/settings`);
  await fresh.waitForLoadState("networkidle");
  assert.ok(requests.length >= 3, "page, script and stylesheet");
  for (const url of requests) assert.ok(url.startsWith(stack.base), `unexpected request to ${url}`);
  await fresh.close();
});
