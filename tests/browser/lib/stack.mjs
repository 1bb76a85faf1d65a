// Starts what a browser test needs: a database of its own on the test
// cluster (scripts/test.sh exports PGHOST/PGPORT/PGUSER), secretsd serving
// the settings page, and Debian's Chromium driven by playwright-core.
import { spawn, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { chromium } from "playwright-core";

export const projectDir = process.env.PROJECT_SOURCE_DIR;
export const binDir = process.env.BUILD_BIN_DIR;
export const artifactsDir = path.join(binDir || ".", "..", "test-artifacts", "browser");

// The flags the machine's environment notes list for an offline, root, headless Chromium.
const CHROMIUM_ARGS = [
  "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

export function skipReason() {
  if (process.env.PGSECRETS_TEST_DB !== "1") return "needs the test cluster (run scripts/test.sh)";
  if (!binDir || !projectDir) return "needs BUILD_BIN_DIR and PROJECT_SOURCE_DIR (set by CTest)";
  return null;
}

function psql(db, sql) {
  return execFileSync("psql", ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql], {
    encoding: "utf8",
  });
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

async function waitForHealth(base, child, logFile) {
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) break;
    try {
      const res = await fetch(`${base}/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`secretsd did not start:\n${readFileSync(logFile, "utf8").slice(-2000)}`);
}

// One database, one secretsd, one browser for a test file.
export async function startStack({ env = {} } = {}) {
  const db = `secretsd_browser_${process.pid}`;
  psql("postgres", `DROP DATABASE IF EXISTS ${db}`);
  psql("postgres", `CREATE DATABASE ${db}`);
  psql(db, "CREATE EXTENSION pgsecrets");
  psql(db, `DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'secretsd_browser') THEN
        CREATE ROLE secretsd_browser LOGIN IN ROLE pgsecrets_gateway;
      END IF; END $$`);
  psql(db, `GRANT CREATE ON DATABASE ${db} TO secretsd_browser`);

  mkdirSync(artifactsDir, { recursive: true });
  const port = await freePort();
  const adminKey = randomBytes(32).toString("hex");
  const logFile = path.join(artifactsDir, `secretsd-${process.pid}.log`);
  const out = openSync(logFile, "w");
  const child = spawn(path.join(binDir, "secretsd"), [], {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: `host=${process.env.PGHOST} port=${process.env.PGPORT} dbname=${db} user=secretsd_browser`,
      PORT: String(port),
      BIND: "127.0.0.1",
      AUTH_SECRET_KEY: randomBytes(32).toString("hex"),
      ADMIN_API_KEY: adminKey,
      SECRETSD_ALLOW_WEAK_ARGON2: "1",
      SECRETSD_ARGON2_OPSLIMIT: "1",
      SECRETSD_ARGON2_MEMLIMIT: "65536",
      SECRETSD_MIGRATIONS_DIR: path.join(projectDir, "migrations"),
      SECRETSD_WEB_DIR: path.join(projectDir, "service", "web"),
      ...env,
    },
    stdio: ["ignore", out, out],
  });
  const base = `http://127.0.0.1:${port}`;
  await waitForHealth(base, child, logFile);

  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS, headless: true });

  return {
    base,
    adminKey,
    db,
    browser,
    logFile,
    async api(method, urlPath, body, headers = {}) {
      const res = await fetch(`${base}${urlPath}`, {
        method,
        headers: { "Content-Type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let json = null;
      try {
        json = JSON.parse(text);
      } catch {
        json = null;
      }
      return { status: res.status, json };
    },
    async stop() {
      await browser.close().catch(() => {});
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
      psql("postgres", `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    },
  };
}

export async function screenshot(page, name) {
  mkdirSync(artifactsDir, { recursive: true });
  await page.screenshot({ path: path.join(artifactsDir, `${name}.png`), fullPage: true });
}
