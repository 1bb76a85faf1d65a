// The settings page: a household's secrets (users) and the provider
// settings (admin). Plain DOM, no framework, nothing loaded from elsewhere.
// Credentials stay in this page's memory only: a reload signs out.
"use strict";

const state = {
  token: null,     // a user's access token
  adminKey: null,  // the admin key
  email: null,
  editing: null,   // the secret being edited, or null when adding
  deleting: null,
};

const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------------ API
class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body, extraHeaders = {}) {
  const headers = { Accept: "application/json", ...extraHeaders };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (state.adminKey) headers["X-Admin-Key"] = state.adminKey;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit",
    cache: "no-store",
  });
  let payload = null;
  try {
    payload = await res.json();
  } catch {
    payload = null;
  }
  if (!res.ok) {
    const message = payload && typeof payload.message === "string" ? payload.message : `Request failed (${res.status})`;
    throw new ApiError(res.status, message);
  }
  return payload;
}

function secretPath(secret) {
  const params = new URLSearchParams({ scope: secret.scope || "integration" });
  if (secret.nodeId) params.set("node_id", secret.nodeId);
  return `/api/secrets/${encodeURIComponent(secret.key)}?${params}`;
}

// ------------------------------------------------------------------ helpers
function show(el, visible) {
  el.hidden = !visible;
}

function setError(el, message) {
  el.textContent = message || "";
  show(el, Boolean(message));
}

function formatTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  if (className) td.className = className;
  return td;
}

function smallButton(label, ariaLabel, onClick, className) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = `small ${className || ""}`.trim();
  b.textContent = label;
  b.setAttribute("aria-label", ariaLabel);
  b.addEventListener("click", onClick);
  return b;
}

function openDialog(dialog, firstField) {
  dialog.showModal();
  (firstField || dialog.querySelector("input, select, button")).focus();
}

// ------------------------------------------------------------------ sign in / out
async function signInUser(event) {
  event.preventDefault();
  setError($("login-error"), "");
  const email = $("login-email").value.trim();
  const password = $("login-password").value;
  if (!email || !password) {
    setError($("login-error"), "Enter your email and password.");
    return;
  }
  try {
    const body = await api("POST", "/api/v0/auth/login", { email, password });
    const data = body.data || body;
    state.token = data.access_token;
    state.adminKey = null;
    state.email = email;
    $("login-password").value = "";
    enterApp();
  } catch (err) {
    setError($("login-error"), err.message);
  }
}

async function signInAdmin(event) {
  event.preventDefault();
  setError($("admin-error"), "");
  const key = $("admin-key").value;
  if (!key) {
    setError($("admin-error"), "Enter the admin key.");
    return;
  }
  state.adminKey = key;
  state.token = null;
  try {
    await api("GET", "/api/v0/admin/settings");
    $("admin-key").value = "";
    state.email = null;
    enterApp();
  } catch (err) {
    state.adminKey = null;
    setError($("admin-error"), err.status === 401 ? "That admin key is not valid." : err.message);
  }
}

function signOut() {
  state.token = null;
  state.adminKey = null;
  state.email = null;
  show($("app-view"), false);
  show($("who"), false);
  show($("login-view"), true);
  $("login-email").focus();
}

function enterApp() {
  const isAdmin = Boolean(state.adminKey);
  show($("login-view"), false);
  show($("app-view"), true);
  show($("who"), true);
  $("who-label").textContent = isAdmin ? "Signed in as administrator" : `Signed in as ${state.email}`;
  show($("tab-secrets"), !isAdmin);
  show($("tab-providers"), isAdmin);
  selectTab(isAdmin ? "providers" : "secrets");
}

// ------------------------------------------------------------------ tabs
function selectTab(name) {
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const selected = tab.id === `tab-${name}`;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    show($(tab.getAttribute("aria-controls")), selected);
  }
  if (name === "secrets") loadSecrets();
  else loadSettings();
}

function onTabKey(event) {
  const tabs = [...document.querySelectorAll('[role="tab"]')].filter((t) => !t.hidden);
  const i = tabs.indexOf(event.target);
  if (i < 0) return;
  let next = null;
  if (event.key === "ArrowRight") next = tabs[(i + 1) % tabs.length];
  if (event.key === "ArrowLeft") next = tabs[(i - 1 + tabs.length) % tabs.length];
  if (next) {
    event.preventDefault();
    next.focus();
    selectTab(next.id.replace("tab-", ""));
  }
}

// ------------------------------------------------------------------ secrets
// `status` is announced only once the table shows the change it reports,
// so a screen reader (or a test) never reads "Saved" next to stale rows.
async function loadSecrets(status = "") {
  const tbody = $("secrets-table").querySelector("tbody");
  try {
    const body = await api("GET", "/api/secrets?limit=500");
    const rows = body.data || [];
    tbody.replaceChildren(...rows.map(secretRow));
    show($("secrets-empty"), rows.length === 0);
    $("secrets-status").textContent = status;
  } catch (err) {
    $("secrets-status").textContent = err.message;
    if (err.status === 401) signOut();
  }
}

function secretRow(secret) {
  const tr = document.createElement("tr");
  tr.dataset.key = secret.key;
  const scope = secret.scope === "node" ? `node: ${secret.nodeId}` : "integration";
  tr.append(
    cell(secret.key, "key"),
    cell(scope),
    cell(secret.description),
    cell(formatTime(secret.updatedAt || secret.createdAt)),
  );
  const actions = document.createElement("td");
  actions.append(
    smallButton("Edit", `Edit ${secret.key}`, () => openSecretDialog(secret), "secondary"),
    smallButton("Delete", `Delete ${secret.key}`, () => openDeleteDialog(secret), "danger"),
  );
  tr.append(actions);
  return tr;
}

function openSecretDialog(secret) {
  state.editing = secret || null;
  const editing = Boolean(secret);
  $("secret-dialog-title").textContent = editing ? `Edit ${secret.key}` : "Add secret";
  $("secret-key").value = editing ? secret.key : "";
  $("secret-key").readOnly = editing;
  $("secret-key").setAttribute("aria-readonly", String(editing));
  show($("secret-key-hint"), !editing);
  $("secret-value").value = "";
  show($("secret-value-hint"), editing);
  $("secret-description").value = editing ? secret.description || "" : "";
  show($("secret-scope-fields"), !editing);
  $("secret-scope").value = "integration";
  $("secret-node").value = "";
  show($("secret-node-field"), false);
  setError($("secret-error"), "");
  openDialog($("secret-dialog"), editing ? $("secret-value") : $("secret-key"));
}

async function saveSecret(event) {
  event.preventDefault();
  setError($("secret-error"), "");
  const value = $("secret-value").value;
  const description = $("secret-description").value;
  let status;
  try {
    if (state.editing) {
      const body = {};
      if (value !== "") body.value = value;
      if (description !== (state.editing.description || "")) body.description = description;
      if (Object.keys(body).length === 0) {
        setError($("secret-error"), "Change the value or the description.");
        return;
      }
      // If-Match: someone else's change since the table was loaded is
      // reported (412), not silently overwritten.
      await api("PUT", secretPath(state.editing), body, { "If-Match": `"v${state.editing.version}"` });
      status = `Saved ${state.editing.key}.`;
    } else {
      const key = $("secret-key").value.trim();
      if (!value) {
        setError($("secret-error"), "A value is required.");
        return;
      }
      const body = { key, value, scope: $("secret-scope").value };
      if (description) body.description = description;
      if (body.scope === "node") body.node_id = $("secret-node").value.trim();
      await api("POST", "/api/secrets", body);
      status = `Added ${key}.`;
    }
    $("secret-value").value = "";
    $("secret-dialog").close();
    await loadSecrets(status);
  } catch (err) {
    setError($("secret-error"), err.message);
  }
}

function openDeleteDialog(secret) {
  state.deleting = secret;
  $("delete-key").textContent = secret.key;
  setError($("delete-error"), "");
  openDialog($("delete-dialog"), $("delete-confirm"));
}

async function confirmDelete(event) {
  event.preventDefault();
  try {
    await api("DELETE", secretPath(state.deleting), undefined, { "If-Match": `"v${state.deleting.version}"` });
    $("delete-dialog").close();
    await loadSecrets(`Deleted ${state.deleting.key}.`);
  } catch (err) {
    setError($("delete-error"), err.message);
  }
}

// ------------------------------------------------------------------ provider settings
async function loadSettings() {
  const tbody = $("settings-table").querySelector("tbody");
  try {
    const body = await api("GET", "/api/v0/admin/settings");
    tbody.replaceChildren(...(body.data || []).map(settingRow));
    $("settings-status").textContent = "";
  } catch (err) {
    $("settings-status").textContent = err.message;
    if (err.status === 401) signOut();
  }
}

function settingRow(setting) {
  const tr = document.createElement("tr");
  tr.dataset.name = setting.name;
  tr.append(
    cell(setting.name, "key"),
    cell(setting.value, "mono"),
    cell(setting.description),
    cell(formatTime(setting.updated_at)),
  );
  const actions = document.createElement("td");
  actions.append(smallButton("Edit", `Edit ${setting.name}`, () => openSettingDialog(setting), "secondary"));
  tr.append(actions);
  return tr;
}

function openSettingDialog(setting) {
  const editing = Boolean(setting);
  $("setting-dialog-title").textContent = editing ? `Edit ${setting.name}` : "Add setting";
  $("setting-name").value = editing ? setting.name : "";
  $("setting-name").readOnly = editing;
  $("setting-value").value = "";
  $("setting-value").type = !editing || setting.is_sensitive ? "password" : "text";
  $("setting-description").value = editing ? setting.description || "" : "";
  $("setting-sensitive").checked = editing ? Boolean(setting.is_sensitive) : true;
  setError($("setting-error"), "");
  openDialog($("setting-dialog"), editing ? $("setting-value") : $("setting-name"));
}

async function saveSetting(event) {
  event.preventDefault();
  setError($("setting-error"), "");
  const name = $("setting-name").value.trim();
  const value = $("setting-value").value;
  if (!name || !value) {
    setError($("setting-error"), "A name and a value are required.");
    return;
  }
  const body = { value, is_sensitive: $("setting-sensitive").checked };
  const description = $("setting-description").value;
  if (description) body.description = description;
  try {
    const result = await api("PUT", `/api/v0/admin/settings/${encodeURIComponent(name)}`, body);
    $("setting-value").value = "";
    $("setting-dialog").close();
    // Reload first: loadSettings() clears the status line, and "Saved" is
    // announced only once the table shows the new value.
    await loadSettings();
    showRestarts(name, (result.data && result.data.restarts) || []);
  } catch (err) {
    setError($("setting-error"), err.message);
  }
}

function showRestarts(name, restarts) {
  const list = $("restart-list");
  if (restarts.length === 0) {
    const li = document.createElement("li");
    li.textContent = `Saved ${name}; no runtime consumes it.`;
    list.replaceChildren(li);
  } else {
    list.replaceChildren(
      ...restarts.map((r) => {
        const li = document.createElement("li");
        li.className = r.status === "ok" ? "ok" : "failed";
        const took = typeof r.duration_ms === "number" ? ` in ${r.duration_ms} ms` : "";
        li.textContent = `${r.runtime_id}: ${r.status}${took}${r.message ? ` (${r.message})` : ""}`;
        return li;
      }),
    );
  }
  show($("restart-outcome"), true);
  $("settings-status").textContent = `Saved ${name}.`;
}

// ------------------------------------------------------------------ wiring
function wire() {
  $("login-form").addEventListener("submit", signInUser);
  $("admin-form").addEventListener("submit", signInAdmin);
  $("sign-out").addEventListener("click", signOut);
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    tab.addEventListener("click", () => selectTab(tab.id.replace("tab-", "")));
    tab.addEventListener("keydown", onTabKey);
  }
  $("add-secret").addEventListener("click", () => openSecretDialog(null));
  $("secret-form").addEventListener("submit", saveSecret);
  $("secret-scope").addEventListener("change", () => show($("secret-node-field"), $("secret-scope").value === "node"));
  $("delete-form").addEventListener("submit", confirmDelete);
  $("add-setting").addEventListener("click", () => openSettingDialog(null));
  $("setting-form").addEventListener("submit", saveSetting);
  for (const button of document.querySelectorAll("[data-close]")) {
    button.addEventListener("click", () => button.closest("dialog").close());
  }
}

wire();
