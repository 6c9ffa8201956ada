// TodoPlatform web UI: one page, no build step. Talks to the REST API under /api/v1 and listens to
// Server-Sent Events for live updates.

const API = "/api/v1";
const PAGE = 50;
const MAX_PAGE = 200;
const LINGER_MS = 1500;
const PRIORITY_LABEL = { none: "", low: "Low", medium: "Medium", high: "High", urgent: "Urgent" };
const WEEKDAY = { MO: "Mon", TU: "Tue", WE: "Wed", TH: "Thu", FR: "Fri", SA: "Sat", SU: "Sun" };
const PRESETS = ["FREQ=DAILY", "FREQ=WEEKLY", "FREQ=MONTHLY", "FREQ=MONTHLY;BYMONTHDAY=-1", "FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYSETPOS=-1", "FREQ=YEARLY"];
const MONTH = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DEFAULT_TAG_COLOR = "#808080";
const CHANNEL_LABEL = { email: "Email", webhook: "Webhook" };
const REMINDER_WATCH_MS = 2000;
const TAG_PALETTE = ["#4f46e5", "#0891b2", "#059669", "#d97706", "#db2777", "#7c3aed", "#2563eb", "#dc2626", "#65a30d", "#0d9488"];
const BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

const state = {
  token: localStorage.getItem("todo.token"),
  user: null,
  items: [],
  nextCursor: null,
  tags: [],
  linger: new Map(),
  order: [],
  seq: 0,
  abort: null,
  // How many rows the user asked to see (Load more raises it), and the reload in flight, if any.
  want: 0,
  reloading: 0,
  // Personal webhooks' names by id, for naming their deliveries; null for one no longer there.
  webhookNames: new Map(),
  events: null,
  editing: null,
  reminderWatch: null,
  authMode: "signup",
  qaSeq: 0,
  qaAbort: null,
  // The list shown: every project's tasks (project null) or one project's; or the Today or Upcoming agenda.
  view: { project: null, agenda: null },
  projects: [],
  // The one sidebar edit panel open: "p:<project id>" or "t:<tag id>".
  openPanel: null,
  deleting: null,
  expanded: new Set(),
  subtasks: new Map(),
  parentTitles: new Map(),
  selected: null,
  editingSubtasks: [],
};

// ---------- helpers ----------

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v == null) continue;
    if (k === "class") el.className = v;
    else if (k === "style") el.style.cssText = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c != null && c !== false) el.append(c);
  return el;
}

const ICONS = {
  bell: ["M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9", "M10.3 21a1.94 1.94 0 0 0 3.4 0"],
  repeat: ["m17 2 4 4-4 4", "M3 11v-1a4 4 0 0 1 4-4h14", "m7 22-4-4 4-4", "M21 13v1a4 4 0 0 1-4 4H3"],
};

function icon(name) {
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  for (const [k, v] of Object.entries({ viewBox: "0 0 24 24", class: "icon", "aria-hidden": "true" })) svg.setAttribute(k, v);
  for (const d of ICONS[name]) {
    const path = document.createElementNS(NS, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `Request failed (${status})`);
    this.status = status;
    this.code = e.code || "error";
    this.field = e.field || "";
  }
}

async function api(method, path, body, signal) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  let res;
  try {
    res = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, { error: { message: "Can't reach the server. Check your connection." } });
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    if (res.status === 401 && state.token && !path.startsWith("/auth/")) signOut("Your session has expired. Please log in again.");
    throw new ApiError(res.status, data);
  }
  return data;
}

function showErrors(form, err) {
  clearErrors(form);
  const slot = err.field && $(`[data-error-for="${CSS.escape(topField(err.field))}"]`, form);
  const target = slot || $('[data-error-for=""]', form);
  target.textContent = err.message;
  // The input at fault: the first visible one named in data-focus, else the one in the slot's field.
  const input = slot && (slot.dataset.focus
    ? slot.dataset.focus.split(" ").map((n) => form.elements[n]).find((el) => el && el.offsetParent !== null)
    : slot.closest(".field") && $("input, select, textarea", slot.closest(".field")));
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
}

function topField(field) {
  const name = field.split(/[.[]/)[0];
  if (name === "reminders" || name === "minutes_before" || name === "at") return "reminder";
  return name;
}

function clearErrors(form) {
  for (const el of $$("[data-error-for]", form)) el.textContent = "";
  for (const el of $$("[aria-invalid]", form)) el.removeAttribute("aria-invalid");
}

let toastTimer;
function toast(msg) {
  const t = $("#toast");
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), 3500);
}

let progressCount = 0;
function busy(delta) {
  progressCount += delta;
  $("#progress").hidden = progressCount <= 0;
}

function debounce(fn, ms) {
  let t;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

// ---------- dates (always in the account's time zone) ----------

const zone = () => (state.user && state.user.time_zone) || BROWSER_ZONE;

function todayIn(tz, plusDays = 0) {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(new Date());
  const get = (t) => Number(parts.find((p) => p.type === t).value);
  const d = new Date(Date.UTC(get("year"), get("month") - 1, get("day") + plusDays));
  return d.toISOString().slice(0, 10);
}

function dayDiff(a, b) {
  return Math.round((Date.parse(a) - Date.parse(b)) / 86400000);
}

const dateFmt = new Intl.DateTimeFormat(undefined, { weekday: "short", month: "short", day: "numeric", timeZone: "UTC" });
const dateYearFmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", year: "numeric", timeZone: "UTC" });
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit", timeZone: "UTC" });

function formatDate(iso) {
  const diff = dayDiff(iso, todayIn(zone()));
  if (diff === 0) return "Today";
  if (diff === 1) return "Tomorrow";
  if (diff === -1) return "Yesterday";
  const d = new Date(`${iso}T00:00:00Z`);
  return iso.slice(0, 4) === todayIn(zone()).slice(0, 4) ? dateFmt.format(d) : dateYearFmt.format(d);
}

function formatTime(hms) {
  const [hh, mm] = hms.split(":").map(Number);
  return timeFmt.format(new Date(Date.UTC(1970, 0, 1, hh, mm)));
}

function formatInstant(ts) {
  return new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short", timeZone: zone() }).format(new Date(ts));
}

function formatDue(due) {
  return due.time ? `${formatDate(due.date)} ${formatTime(due.time)}` : formatDate(due.date);
}

function describeRule(rrule) {
  const parts = Object.fromEntries(rrule.split(";").map((p) => p.split("=")));
  const n = Number(parts.INTERVAL || 1);
  const unit = { DAILY: "day", WEEKLY: "week", MONTHLY: "month", YEARLY: "year" }[parts.FREQ] || "time";
  let text = n === 1 ? { day: "Daily", week: "Weekly", month: "Monthly", year: "Yearly" }[unit] || "Repeats" : `Every ${n} ${unit}s`;
  if (parts.BYDAY) text += ` on ${parts.BYDAY.split(",").map((d) => d.replace(/[A-Z]{2}$/, (x) => WEEKDAY[x] || x)).join(", ")}`;
  // "28,29,30,31" with BYSETPOS=-1 is the standard spelling of "the 31st, or the last day of shorter months".
  const monthEnd = parts.BYSETPOS === "-1" && parts.BYMONTHDAY && /^28(,29(,30(,31)?)?)?$/.test(parts.BYMONTHDAY);
  if (monthEnd) text += ` on day ${parts.BYMONTHDAY.split(",").pop()}, or the last day of shorter months`;
  else if (parts.BYMONTHDAY) text += parts.BYMONTHDAY === "-1" ? " on the last day" : ` on day ${parts.BYMONTHDAY}`;
  if (parts.BYMONTH) text += ` in ${parts.BYMONTH.split(",").map((m) => MONTH[Number(m) - 1] || m).join(", ")}`;
  if (parts.BYSETPOS && !monthEnd) text += `, only the ${parts.BYSETPOS.split(",").map((p) => (p === "-1" ? "last" : `#${p}`)).join(" and ")} of each`;
  if (parts.COUNT) text += `, ${parts.COUNT}×`;
  if (parts.UNTIL) text += `, until ${parts.UNTIL.slice(0, 8).replace(/(\d{4})(\d{2})(\d{2})/, "$1-$2-$3")}`;
  return text;
}

function describeReminder(r) {
  if (r.minutes_before == null) return `At ${formatInstant(r.at)}`;
  const m = r.minutes_before;
  if (m === 0) return "At due time";
  if (m % 1440 === 0) return `${m / 1440} day${m === 1440 ? "" : "s"} before`;
  if (m % 60 === 0) return `${m / 60} hour${m === 60 ? "" : "s"} before`;
  return `${m} minutes before`;
}

// Tags left at the server's neutral default get a stable colour from their name, so chips stay distinguishable.
function tagColor(tag) {
  if (tag.color.toLowerCase() !== DEFAULT_TAG_COLOR) return tag.color;
  let hash = 0;
  for (const ch of tag.name.toLowerCase()) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return TAG_PALETTE[hash % TAG_PALETTE.length];
}

// ---------- auth ----------

function setAuthMode(mode) {
  state.authMode = mode;
  const signup = mode === "signup";
  $("#tab-signup").setAttribute("aria-selected", String(signup));
  $("#tab-login").setAttribute("aria-selected", String(!signup));
  for (const el of $$('#auth-form [data-mode="signup"]')) el.hidden = !signup;
  $("#auth-submit").textContent = signup ? "Create account" : "Log in";
  $('#auth-form [name="password"]').autocomplete = signup ? "new-password" : "current-password";
  $("#auth-title").textContent = signup ? "Create your account" : "Welcome back";
  clearErrors($("#auth-form"));
}

async function submitAuth(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const f = new FormData(form);
  const body = { email: f.get("email").trim(), password: f.get("password") };
  if (state.authMode === "signup") {
    if (f.get("display_name").trim()) body.display_name = f.get("display_name").trim();
    body.time_zone = f.get("time_zone").trim() || BROWSER_ZONE;
  }
  const btn = $("#auth-submit");
  btn.disabled = true;
  try {
    const res = await api("POST", state.authMode === "signup" ? "/auth/signup" : "/auth/login", body);
    state.token = res.token;
    localStorage.setItem("todo.token", res.token);
    state.user = res.user;
    form.reset();
    await enterApp();
  } catch (err) {
    showErrors(form, err);
  } finally {
    btn.disabled = false;
  }
}

// ---------- API tokens ----------

const SCOPE_LABEL = { read: "Read only", "read-write": "Read and write" };

function describeToken(t) {
  const parts = [SCOPE_LABEL[t.scope] || t.scope, `created ${formatInstant(t.created_at)}`];
  if (t.expires_at) parts.push(`${new Date(t.expires_at) <= new Date() ? "expired" : "expires"} ${formatInstant(t.expires_at)}`);
  else parts.push("never expires");
  parts.push(t.last_used_at ? `last used ${formatInstant(t.last_used_at)}` : "never used");
  return parts.join(" · ");
}

async function loadTokens() {
  const tokens = await api("GET", "/tokens");
  $("#token-list").replaceChildren(...tokens.map((t) => h("li", { "data-id": t.id },
    h("div", { class: "spacer" },
      h("div", { class: "token-name" }, t.name),
      h("div", { class: "token-meta muted" }, describeToken(t))),
    h("button", { type: "button", class: "btn small danger ghost", "aria-label": `Revoke “${t.name}”`, onclick: (e) => revokeToken(t, e.currentTarget) }, "Revoke"))));
  $("#token-empty").hidden = tokens.length > 0;
}

async function openTokens() {
  $("#token-secret").hidden = true;
  $("#token-secret-value").value = "";
  clearErrors($("#token-form"));
  $("#tokens").showModal();
  try {
    await loadTokens();
  } catch (err) {
    toast(err.message);
  }
}

async function createToken(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const f = new FormData(form);
  const body = { name: f.get("name"), scope: f.get("scope") };
  if (f.get("expires_in_days")) body.expires_in_days = Number(f.get("expires_in_days"));
  const btn = $("#token-create");
  btn.disabled = true;
  try {
    const created = await api("POST", "/tokens", body);
    clearErrors(form);
    form.elements.name.value = "";
    // The secret lives only in this field until the panel closes: it is never stored.
    $("#token-secret-value").value = created.secret;
    $("#token-secret").hidden = false;
    $("#token-secret-value").select();
    await loadTokens();
  } catch (err) {
    showErrors(form, err);
  } finally {
    btn.disabled = false;
  }
}

async function revokeToken(t, btn) {
  btn.disabled = true;
  try {
    await api("DELETE", `/tokens/${t.id}`);
    toast(`Revoked “${t.name}”`);
    await loadTokens();
  } catch (err) {
    btn.disabled = false;
    toast(err.message);
  }
}

async function copyToken() {
  const value = $("#token-secret-value").value;
  try {
    await navigator.clipboard.writeText(value);
    toast("Token copied");
  } catch {
    $("#token-secret-value").select();
    toast("Select the token and copy it");
  }
}

// ---------- Settings: reminder email, webhooks, calendar feeds ----------

const DELIVERY_LABEL = { pending: "pending", retrying: "retrying", sent: "sent", failed: "failed" };

async function copySecret(input, what) {
  try {
    await navigator.clipboard.writeText(input.value);
    toast(`${what} copied`);
  } catch {
    input.select();
    toast(`Select the ${what.toLowerCase()} and copy it`);
  }
}

// A secret is shown in its panel until the dialog closes; it is never stored.
function showSecret(panel, input, value) {
  input.value = value;
  panel.hidden = false;
  input.select();
}

function hideSecrets() {
  for (const [panel, input] of [["#webhook-secret", "#webhook-secret-value"], ["#feed-secret", "#feed-secret-value"]]) {
    $(input).value = "";
    $(panel).hidden = true;
  }
}

async function openSettings() {
  hideSecrets();
  for (const f of ["#email-form", "#webhook-form", "#feed-form"]) clearErrors($(f));
  $("#settings").showModal();
  try {
    await Promise.all([loadEmailSettings(), loadWebhooks(), loadFeeds()]);
  } catch (err) {
    toast(err.message);
  }
}

async function loadEmailSettings() {
  const s = await api("GET", "/notifications/settings");
  const form = $("#email-form");
  form.elements.email_enabled.checked = s.email_enabled;
  form.elements.email_address.value = s.email_is_account_email ? "" : s.email_address;
  form.elements.email_address.placeholder = state.user ? state.user.email : "";
}

async function saveEmailSettings(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const address = form.elements.email_address.value.trim();
  const btn = $("#email-save");
  btn.disabled = true;
  try {
    const s = await api("PUT", "/notifications/settings", { email_enabled: form.elements.email_enabled.checked, email_address: address || null });
    clearErrors(form);
    toast(s.email_enabled ? `Reminders are emailed to ${s.email_address}` : "Reminders are not emailed");
  } catch (err) {
    showErrors(form, err);
  } finally {
    btn.disabled = false;
  }
}

// The webhook's latest outcome, reminder delivery or test, whichever came last.
function describeWebhook(w) {
  const d = w.deliveries;
  const parts = [w.enabled ? "enabled" : "disabled"];
  if (d.sent || d.pending || d.failed) {
    const counts = [`${d.sent} sent`];
    if (d.pending) counts.push(`${d.pending} pending`);
    if (d.failed) counts.push(`${d.failed} failed`);
    parts.push(counts.join(", "));
  }
  const latest = d.latest && { at: d.latest.at, what: `last reminder ${DELIVERY_LABEL[d.latest.status] || d.latest.status}`, error: d.latest.last_error };
  const test = w.last_test && { at: w.last_test.at, what: w.last_test.ok ? `test answered ${w.last_test.status_code}` : "test failed", error: w.last_test.error };
  const last = [latest, test].filter(Boolean).sort((a, b) => new Date(b.at) - new Date(a.at))[0];
  if (last) parts.push(`${last.what} ${formatInstant(last.at)}${last.error ? `: ${last.error}` : ""}`);
  else parts.push("nothing sent yet");
  return { text: parts.join(" · "), bad: Boolean(last && last.error) };
}

async function loadWebhooks() {
  const hooks = await api("GET", "/webhooks");
  for (const w of hooks) state.webhookNames.set(w.id, w.name);
  $("#webhook-list").replaceChildren(...hooks.map((w) => {
    const status = describeWebhook(w);
    return h("li", { "data-id": w.id },
      h("div", { class: "spacer" },
        h("div", { class: "token-name" }, w.name),
        h("div", { class: "token-url muted" }, w.url),
        h("div", { class: `token-meta muted webhook-status${status.bad ? " bad" : ""}` }, status.text)),
      h("div", { class: "token-actions" },
        h("button", { type: "button", class: "btn small", "aria-label": `Send a test to “${w.name}”`, onclick: (e) => testWebhook(w, e.currentTarget) }, "Send test"),
        h("button", { type: "button", class: "btn small ghost", "aria-label": `${w.enabled ? "Disable" : "Enable"} “${w.name}”`, onclick: (e) => toggleWebhook(w, e.currentTarget) }, w.enabled ? "Disable" : "Enable"),
        h("button", { type: "button", class: "btn small danger ghost", "aria-label": `Delete “${w.name}”`, onclick: (e) => deleteWebhook(w, e.currentTarget) }, "Delete")));
  }));
  $("#webhook-empty").hidden = hooks.length > 0;
}

async function addWebhook(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const body = { url: form.elements.url.value.trim() };
  if (form.elements.name.value.trim()) body.name = form.elements.name.value.trim();
  const btn = $("#webhook-add");
  btn.disabled = true;
  try {
    const created = await api("POST", "/webhooks", body);
    clearErrors(form);
    form.reset();
    showSecret($("#webhook-secret"), $("#webhook-secret-value"), created.secret);
    await loadWebhooks();
  } catch (err) {
    showErrors(form, err);
  } finally {
    btn.disabled = false;
  }
}

async function testWebhook(w, btn) {
  btn.disabled = true;
  try {
    const t = await api("POST", `/webhooks/${w.id}/test`);
    toast(t.ok ? `“${w.name}” answered ${t.status_code}` : `Test to “${w.name}” failed: ${t.error}`);
    await loadWebhooks();
  } catch (err) {
    btn.disabled = false;
    toast(err.message);
  }
}

async function toggleWebhook(w, btn) {
  btn.disabled = true;
  try {
    await api("PATCH", `/webhooks/${w.id}`, { enabled: !w.enabled });
    await loadWebhooks();
  } catch (err) {
    btn.disabled = false;
    toast(err.message);
  }
}

async function deleteWebhook(w, btn) {
  btn.disabled = true;
  try {
    await api("DELETE", `/webhooks/${w.id}`);
    state.webhookNames.set(w.id, null);
    toast(`Deleted “${w.name}”`);
    await loadWebhooks();
  } catch (err) {
    btn.disabled = false;
    toast(err.message);
  }
}

async function loadFeeds() {
  const feeds = await api("GET", "/calendar-feeds");
  $("#feed-list").replaceChildren(...feeds.map((f) => h("li", { "data-id": f.id },
    h("div", { class: "spacer" },
      h("div", { class: "token-name" }, f.name),
      h("div", { class: "token-meta muted" }, `created ${formatInstant(f.created_at)}`)),
    h("button", { type: "button", class: "btn small danger ghost", "aria-label": `Revoke “${f.name}”`, onclick: (e) => revokeFeed(f, e.currentTarget) }, "Revoke"))));
  $("#feed-empty").hidden = feeds.length > 0;
}

async function createFeed(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const name = form.elements.name.value.trim();
  const btn = $("#feed-create");
  btn.disabled = true;
  try {
    const created = await api("POST", "/calendar-feeds", name ? { name } : {});
    clearErrors(form);
    form.reset();
    showSecret($("#feed-secret"), $("#feed-secret-value"), created.url.startsWith("/") ? location.origin + created.url : created.url);
    await loadFeeds();
  } catch (err) {
    showErrors(form, err);
  } finally {
    btn.disabled = false;
  }
}

async function revokeFeed(f, btn) {
  btn.disabled = true;
  try {
    await api("DELETE", `/calendar-feeds/${f.id}`);
    toast(`Revoked “${f.name}”`);
    await loadFeeds();
  } catch (err) {
    btn.disabled = false;
    toast(err.message);
  }
}

function signOut(message) {
  state.token = null;
  state.user = null;
  localStorage.removeItem("todo.token");
  if (state.events) state.events.close();
  state.events = null;
  state.items = [];
  state.order = [];
  state.view = { project: null };
  state.projects = [];
  state.expanded.clear();
  state.subtasks.clear();
  state.webhookNames.clear();
  state.selected = null;
  $("#tasks").replaceChildren();
  $("#alerts").replaceChildren();
  for (const d of ["#project-delete", "#shortcuts"]) if ($(d).open) $(d).close();
  if ($("#editor").open) $("#editor").close();
  if ($("#tokens").open) $("#tokens").close();
  if ($("#settings").open) $("#settings").close();
  showAuth();
  if (message) $('#auth-form [data-error-for=""]').textContent = message;
}

function showAuth() {
  $("#app-view").hidden = true;
  $("#account").hidden = true;
  $("#sidebar-toggle").hidden = true;
  $("#auth-view").hidden = false;
  const zones = $("#zones");
  if (!zones.childElementCount && Intl.supportedValuesOf) {
    zones.append(...Intl.supportedValuesOf("timeZone").map((z) => h("option", { value: z })));
  }
  $('#auth-form [name="time_zone"]').value = BROWSER_ZONE;
  setAuthMode(state.authMode);
  $('#auth-form [name="email"]').focus();
}

async function enterApp() {
  if (!state.user) state.user = await api("GET", "/me");
  $("#auth-view").hidden = true;
  $("#app-view").hidden = false;
  $("#account").hidden = false;
  $("#sidebar-toggle").hidden = false;
  renderAccount();
  connectEvents();
  await Promise.all([loadTags(), loadProjects(), reload(), loadAlerts()]);
  $("#qa-title").focus();
}

function renderAccount() {
  const u = state.user;
  $("#who").textContent = u.display_name || u.email;
  $("#zone-label").textContent = u.time_zone;
  const banner = $("#zone-banner");
  const dismissed = localStorage.getItem("todo.zone-dismissed") === `${u.time_zone}|${BROWSER_ZONE}`;
  banner.hidden = u.time_zone === BROWSER_ZONE || dismissed;
  $("#zone-banner-text").textContent = `Dates are shown in ${u.time_zone} (your account). This browser is in ${BROWSER_ZONE}.`;
  $("#zone-switch").textContent = `Use ${BROWSER_ZONE}`;
}

async function switchZone() {
  try {
    state.user = await api("PATCH", "/me", { time_zone: BROWSER_ZONE });
    renderAccount();
    await reload();
  } catch (err) {
    toast(err.message);
  }
}

// ---------- listing ----------

function query() {
  const p = new URLSearchParams();
  const status = $('input[name="status"]:checked').value;
  if (status) p.set("status", status);
  const pr = $("#f-priority").value;
  if (pr) p.set("priority", pr);
  const tag = $("#f-tag").value;
  if (tag) p.set("tags", tag);
  const due = $("#f-due").value;
  if (due === "today") p.set("due_today", "true");
  if (due === "overdue") p.set("overdue", "true");
  if (due === "none") p.set("has_due", "false");
  const q = $("#search").value.trim();
  if (/[\p{L}\p{N}]/u.test(q)) p.set("q", q);
  if (state.view.project) p.set("project", state.view.project);
  // Subtasks are listed under their parent, except in a search, which finds them too.
  if (!p.has("q")) p.set("parent", "none");
  const [sort, order] = $("#sort").value.split(":");
  if (sort !== "rank" || p.has("q")) {
    p.set("sort", sort);
    p.set("order", order);
  }
  return p;
}

async function reload({ keepCount = false } = {}) {
  showAgenda(Boolean(state.view.agenda));
  if (state.view.agenda) return loadAgenda();
  const p = query();
  if (!keepCount) state.want = PAGE;
  p.set("limit", String(keepCount ? Math.min(MAX_PAGE, Math.max(PAGE, state.items.length, state.want)) : PAGE));
  const seq = ++state.seq;
  if (state.abort) state.abort.abort();
  state.abort = new AbortController();
  state.reloading = seq;
  busy(1);
  try {
    const page = await api("GET", `/tasks?${p}`, undefined, state.abort.signal);
    if (seq !== state.seq) return;
    state.items = page.items;
    state.nextCursor = page.next_cursor;
    const listed = new Set(page.items.map((t) => t.id));
    for (const id of state.expanded) if (!listed.has(id)) state.expanded.delete(id);
    await Promise.all([...state.expanded].map(loadSubtasks));
    if (seq !== state.seq) return;
    render();
  } catch (err) {
    if (err.name !== "AbortError") toast(err.message);
  } finally {
    if (state.reloading === seq) state.reloading = 0;
    busy(-1);
  }
}

async function loadMore() {
  if (!state.nextCursor) return;
  state.want = state.items.length + PAGE;
  // A live refresh in flight would land after this page with its shorter list and undo the click:
  // it is asked again, for the longer list. A refresh that starts while this page loads asks for the
  // longer list itself, so this page is then dropped for it.
  if (state.reloading) return reload({ keepCount: true });
  const p = query();
  p.set("limit", String(PAGE));
  p.set("cursor", state.nextCursor);
  const seq = state.seq;
  const btn = $("#load-more");
  btn.disabled = true;
  busy(1);
  try {
    const page = await api("GET", `/tasks?${p}`);
    if (seq !== state.seq) return;
    const seen = new Set(state.items.map((t) => t.id));
    state.items = state.items.concat(page.items.filter((t) => !seen.has(t.id)));
    state.nextCursor = page.next_cursor;
    render();
  } catch (err) {
    toast(err.message);
  } finally {
    btn.disabled = false;
    busy(-1);
  }
}

async function loadTags() {
  try {
    state.tags = await api("GET", "/tags");
  } catch {
    return;
  }
  const sel = $("#f-tag");
  const current = sel.value;
  sel.replaceChildren(h("option", { value: "" }, "All tags"), ...state.tags.map((t) => h("option", { value: t.name }, `${t.name} (${t.task_count})`)));
  if (current && !state.tags.some((t) => t.name === current)) sel.append(h("option", { value: current }, current));
  sel.value = current;
  renderTags();
}

// ---------- rendering ----------

function visibleItems() {
  const items = state.items.slice();
  const present = new Set(items.map((t) => t.id));
  for (const [id, task] of state.linger) {
    if (present.has(id)) continue;
    const at = state.order.indexOf(id);
    items.splice(at < 0 ? items.length : Math.min(at, items.length), 0, task);
  }
  return items;
}

function render() {
  const list = $("#tasks");
  const items = visibleItems();
  const existing = new Map($$(":scope > li", list).map((li) => [li.dataset.id, li]));
  items.forEach((task, i) => {
    let li = existing.get(task.id);
    // Reminder deliveries, subtasks, tags and projects change without the task changing.
    const reminders = task.reminders.map((r) => `${r.fired_at}:${r.deliveries.map((d) => d.status).join()}`).join();
    const subtasks = state.expanded.has(task.id) ? (state.subtasks.get(task.id) || []).map((s) => `${s.id}:${s.updated_at}`).join() : "-";
    const project = rowProject(task);
    const stamp = `${task.updated_at}|${task.overdue}|${task.due_today}|${zone()}|${reminders}|${task.subtasks_done}/${task.subtask_count}|${task.tags.map((t) => t.color)}|${project ? `${project.name}${project.color}` : ""}|${state.parentTitles.get(task.parent_id) || ""}|${subtasks}`;
    if (!li) {
      li = h("li", { class: "task", "data-id": task.id });
      fillTask(li, task);
    } else if (li.dataset.stamp !== stamp) {
      const focused = li.contains(document.activeElement) && document.activeElement.dataset.role;
      fillTask(li, task);
      if (focused) $(`[data-role="${focused}"]`, li).focus();
    }
    li.dataset.stamp = stamp;
    li.classList.toggle("selected", task.id === state.selected);
    existing.delete(task.id);
    if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null);
  });
  for (const li of existing.values()) li.remove();
  state.order = items.map((t) => t.id);

  const empty = items.length === 0;
  $("#empty").hidden = !empty;
  const shown = query();
  shown.delete("project");
  shown.delete("parent");
  const filtered = shown.toString() !== "status=open%2Cin_progress&sort=created&order=desc";
  $("#empty-hint").textContent = filtered ? "No tasks match these filters." : state.view.project ? "No tasks in this project yet. Add one above." : "Add a task above to get started.";
  fetchParentTitles(items);
  $("#load-more").hidden = !state.nextCursor;
  $("#summary").textContent = empty ? "" : `${items.length}${state.nextCursor ? "+" : ""} task${items.length === 1 ? "" : "s"}`;
}

function fillTask(li, task) {
  const done = task.status === "completed";
  li.className = `task prio-${task.priority}${done ? " done" : ""}${task.overdue ? " overdue" : ""}${task.due_today ? " today" : ""}`;
  const meta = h("div", { class: "meta" });
  if (task.priority !== "none") meta.append(h("span", { class: `prio prio-${task.priority}` }, PRIORITY_LABEL[task.priority]));
  if (task.due) {
    const label = task.overdue ? `Overdue · ${formatDue(task.due)}` : formatDue(task.due);
    meta.append(h("time", { class: `due${task.overdue ? " is-overdue" : ""}${task.due_today ? " is-today" : ""}`, datetime: task.due.time ? `${task.due.date}T${task.due.time.slice(0, 5)}` : task.due.date, title: `${task.due.date}${task.due.time ? ` ${task.due.time.slice(0, 5)}` : ""} (${task.due.time_zone})` }, label));
  }
  if (task.recurrence) meta.append(h("span", { class: "rec", title: `RRULE: ${task.recurrence.rrule}` }, icon("repeat"), describeRule(task.recurrence.rrule)));
  if (task.recurrence && !done) meta.append(h("button", { type: "button", class: "skip", "data-role": "skip", title: "Skip this occurrence: move to the next date without completing it", "aria-label": `Skip this occurrence of “${task.title}”`, onclick: () => skipOccurrence(task) }, "Skip"));
  const pending = task.reminders.filter((r) => !r.fired_at).length;
  if (pending) meta.append(h("span", { class: "rem", title: task.reminders.map(describeReminder).join("\n") }, icon("bell"), `${pending} reminder${pending === 1 ? "" : "s"}`));
  const failed = task.reminders.flatMap((r) => r.deliveries.filter((d) => d.status === "failed"));
  if (failed.length) meta.append(h("span", { class: "rem failed", title: failed.map((d) => `${deliveryChannel(d)}: ${d.last_error}`).join("\n") }, icon("bell"), "Reminder not delivered"));
  for (const tag of task.tags) {
    meta.append(h("button", { type: "button", class: "chip", style: `--tag:${tagColor(tag)}`, title: `Show tasks tagged ${tag.name}`, onclick: () => filterTag(tag.name) }, tag.name));
  }
  const project = rowProject(task);
  if (project) meta.append(h("button", { type: "button", class: "project-chip", "data-role": "project", style: `--dot:${project.color}`, title: `Show the project ${project.name}`, onclick: () => selectProject(project.id) }, project.name));
  if (task.parent_id) meta.append(h("span", { class: "parent-of" }, `in ${state.parentTitles.get(task.parent_id) || "another task"}`));
  const expanded = state.expanded.has(task.id);
  if (task.subtask_count) {
    meta.prepend(h("button", {
      type: "button", class: "subtask-count", "data-role": "subtasks", "aria-expanded": String(expanded),
      "aria-label": `${expanded ? "Hide" : "Show"} subtasks of “${task.title}” (${task.subtasks_done} of ${task.subtask_count} done)`,
      onclick: () => toggleSubtasks(task.id),
    }, `${task.subtasks_done}/${task.subtask_count}`));
  }
  const checkId = `chk-${task.id}`;
  li.replaceChildren(
    h("input", { type: "checkbox", class: "check", id: checkId, "data-role": "check", checked: done, "aria-label": `${done ? "Reopen" : "Complete"} “${task.title}”`, onchange: (e) => toggleDone(task, e.currentTarget) }),
    h("div", { class: "body" },
      h("button", { type: "button", class: "title", "data-role": "title", "aria-label": `Edit “${task.title}”`, onclick: () => openEditor(task.id) }, task.title),
      task.description ? h("p", { class: "desc" }, task.description.split("\n")[0]) : null,
      meta.childElementCount ? meta : null,
      expanded ? subtaskList(task) : null,
    ),
  );
}

// The project chip on a row when the list mixes projects; the Inbox goes without one.
function rowProject(task) {
  if (state.view.project) return null;
  const project = state.projects.find((p) => p.id === task.project_id);
  return project && !project.inbox ? project : null;
}

function subtaskList(task) {
  const items = state.subtasks.get(task.id) || [];
  return h("ul", { class: "subtasks", "aria-label": `Subtasks of “${task.title}”` },
    ...items.map((s) => {
      const done = s.status === "completed";
      return h("li", { class: `subtask${done ? " done" : ""}`, "data-id": s.id },
        h("input", { type: "checkbox", class: "check", "data-role": `sub-${s.id}`, checked: done, "aria-label": `${done ? "Reopen" : "Complete"} “${s.title}”`, onchange: (e) => toggleSubtask(s, e.currentTarget) }),
        h("button", { type: "button", class: "title", "aria-label": `Edit “${s.title}”`, onclick: () => openEditor(s.id, s) }, s.title),
        s.subtask_count ? h("span", { class: "muted" }, `${s.subtasks_done}/${s.subtask_count}`) : null);
    }));
}

async function loadSubtasks(id) {
  const page = await api("GET", `/tasks?parent=${id}&sort=created&order=asc&limit=${MAX_PAGE}`);
  state.subtasks.set(id, page.items);
}

async function toggleSubtasks(id) {
  if (state.expanded.has(id)) {
    state.expanded.delete(id);
    render();
    return;
  }
  try {
    await loadSubtasks(id);
    state.expanded.add(id);
    render();
  } catch (err) {
    toast(err.message);
  }
}

async function toggleSubtask(s, box) {
  try {
    await api("POST", `/tasks/${s.id}/${box.checked ? "complete" : "reopen"}`);
    await reload({ keepCount: true });
  } catch (err) {
    box.checked = !box.checked;
    toast(err.message);
  }
}

// A subtask found by a search says which task it belongs to; parents not listed are fetched once.
async function fetchParentTitles(items) {
  const missing = [...new Set(items.map((t) => t.parent_id).filter((id) => id && !state.parentTitles.has(id)))];
  if (!missing.length) return;
  for (const id of missing) state.parentTitles.set(id, "");
  const found = await Promise.all(missing.map((id) => api("GET", `/tasks/${id}`).catch(() => null)));
  for (const parent of found) if (parent) state.parentTitles.set(parent.id, parent.title);
  render();
}

function filterTag(name) {
  const sel = $("#f-tag");
  if (![...sel.options].some((o) => o.value === name)) sel.append(h("option", { value: name }, name));
  sel.value = name;
  renderTags();
  reload();
}

async function toggleDone(task, box) {
  const completing = box.checked;
  const li = box.closest("li");
  li.classList.toggle("done", completing);
  try {
    const updated = await api("POST", `/tasks/${task.id}/${completing ? "complete" : "reopen"}`);
    replaceItem(updated);
    state.linger.set(updated.id, updated);
    setTimeout(() => {
      state.linger.delete(updated.id);
      render();
    }, LINGER_MS);
    toast(completing ? `Completed “${updated.title}”` : `Reopened “${updated.title}”`);
    scheduleRefresh();
  } catch (err) {
    box.checked = !completing;
    li.classList.toggle("done", !completing);
    toast(err.message);
  }
}

async function skipOccurrence(task) {
  try {
    const updated = await api("POST", `/tasks/${task.id}/skip`);
    replaceItem(updated);
    toast(`Skipped “${updated.title}” — next: ${formatDue(updated.due)}`);
    scheduleRefresh();
  } catch (err) {
    toast(err.message);
  }
}

function replaceItem(task) {
  const i = state.items.findIndex((t) => t.id === task.id);
  if (i >= 0) state.items[i] = task;
  if (state.linger.has(task.id)) state.linger.set(task.id, task);
  render();
}

// ---------- quick add ----------

// Whether a new task belongs in the current listing (searches are left to the server's ranking).
function fitsView(task) {
  const p = query();
  const has = (key, value) => !p.has(key) || p.get(key).split(",").includes(value);
  return !p.has("q") && !task.parent_id && has("project", task.project_id) && has("status", task.status) && has("priority", task.priority)
    && (!p.has("tags") || task.tags.some((t) => t.name.toLowerCase() === p.get("tags").toLowerCase()))
    && (!p.has("due_today") || task.due_today) && (!p.has("overdue") || task.overdue) && (!p.has("has_due") || !task.due);
}

function todayPlus(choice) {
  return { today: 0, tomorrow: 1, week: 7 }[choice];
}

// The quick-add line is read by the server (POST /tasks/parse, the parser task creation uses) as the user
// types: the preview marks the words it recognised and says what they mean, so nothing is a surprise on
// submit. Only the latest answer counts.
const QA_LABEL = { date: "Due", time: "Due", recurrence: "Repeats", tag: "Tag", priority: "Priority", project: "Project", reminder: "Reminder" };

async function previewQuickAdd() {
  const text = $("#qa-title").value;
  const seq = ++state.qaSeq;
  if (state.qaAbort) state.qaAbort.abort();
  if (!text.trim()) return renderQuickAdd(null);
  state.qaAbort = new AbortController();
  try {
    const read = await api("POST", "/tasks/parse", { text }, state.qaAbort.signal);
    if (seq === state.qaSeq) renderQuickAdd(read, text);
  } catch (err) {
    if (err.name !== "AbortError" && seq === state.qaSeq) renderQuickAdd(null);
  }
}

function renderQuickAdd(read, text) {
  const box = $("#qa-preview");
  if (!read || !read.spans.length) {
    box.hidden = true;
    return;
  }
  const chars = Array.from(text);
  const marked = [];
  let at = 0;
  for (const span of read.spans) {
    marked.push(chars.slice(at, span.start).join(""));
    marked.push(h("mark", { class: `qa-${span.kind}`, title: QA_LABEL[span.kind] }, chars.slice(span.start, span.end).join("")));
    at = span.end;
  }
  marked.push(chars.slice(at).join(""));
  $('[data-role="qa-text"]', box).replaceChildren(...marked);
  const item = (label, value, cls) => h("li", { class: cls, "data-kind": label.toLowerCase() }, h("b", {}, `${label}: `), value);
  const meaning = [item("Title", read.title || "(none yet)", read.title ? null : "qa-warn")];
  if (read.due) meaning.push(item("Due", formatDue(read.due)));
  if (read.recurrence) meaning.push(item("Repeats", `${describeRule(read.recurrence.rrule)}${read.recurrence.basis === "completion" ? ", counted from completion" : ""}`));
  if (read.tags.length) meaning.push(item("Tags", read.tags.join(", ")));
  if (read.priority) meaning.push(item("Priority", PRIORITY_LABEL[read.priority] || "None"));
  if (read.project) meaning.push(read.project_id ? item("Project", read.project) : item("Project", `you have no project “${read.project}” (or it is archived)`, "qa-warn"));
  for (const r of read.reminders) meaning.push(item("Reminder", describeReminder(r)));
  $('[data-role="qa-meaning"]', box).replaceChildren(...meaning);
  box.hidden = false;
}

async function quickAdd(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const input = $("#qa-title");
  clearErrors(form);
  if (!input.value.trim()) {
    showErrors(form, new ApiError(400, { error: { message: "Give the task a title.", field: "" } }));
    input.focus();
    return;
  }
  // The selects are explicit fields beside the text: the server refuses one the text sets too.
  const body = { text: input.value };
  const priority = $("#qa-priority").value;
  if (priority !== "none") body.priority = priority;
  const due = $("#qa-due").value;
  if (due) body.due = todayIn(zone(), todayPlus(due));
  try {
    // A task added while a project is shown goes into it, unless its +project names another one (the
    // server refuses both at once).
    if (state.view.project) {
      const read = await api("POST", "/tasks/parse", { text: input.value });
      if (!read.project) body.project_id = state.view.project;
    }
    const task = await api("POST", "/tasks", body);
    input.value = "";
    state.qaSeq++;
    renderQuickAdd(null);
    $("#qa-priority").value = "none";
    $("#qa-due").value = "";
    if (fitsView(task) && !state.items.some((t) => t.id === task.id)) {
      state.items.unshift(task);
      render();
    }
    if (task.tags.length) loadTags();
    loadProjects();
    scheduleRefresh();
  } catch (err) {
    showErrors(form, err);
    input.focus();
  }
}

// ---------- editor ----------

function repeatValue(form) {
  const sel = form.elements.repeat.value;
  return sel === "custom" ? form.elements.rrule.value.trim().replace(/^RRULE:/i, "") : sel;
}

// The repeat editor lists the next dates the rule gives, computed by the server (its engine, the account's
// zone): the saved series as it continues, or the rule being edited from the due date in the form.
let previewSeq = 0;
async function updateRepeatPreview(form) {
  const out = $("#repeat-preview");
  const repeat = repeatValue(form);
  const due = dueValue(form);
  const seq = ++previewSeq;
  if (!repeat || !due) {
    out.hidden = true;
    return;
  }
  const task = state.editing;
  const saved = task && task.recurrence && repeat === form.dataset.initialRepeat && due === form.dataset.initialDue;
  try {
    const res = saved
      ? await api("GET", `/tasks/${task.id}/occurrences?limit=5`)
      : await api("POST", "/recurrence/preview", { due, recurrence: { rrule: repeat }, limit: 5 });
    if (seq !== previewSeq) return;
    out.textContent = `Next: ${res.occurrences.map(formatDue).join(" · ")}`;
    out.hidden = false;
  } catch (err) {
    // A rule the server rejects shows its error on save; the preview just goes away.
    if (seq === previewSeq) out.hidden = true;
  }
}

function openEditor(id, known) {
  const task = known || state.items.find((t) => t.id === id) || state.linger.get(id);
  if (!task) return;
  state.editing = task;
  const form = $("#edit-form");
  clearErrors(form);
  const el = form.elements;
  el.title.value = task.title;
  el.description.value = task.description;
  el.priority.value = task.priority;
  el.due_date.value = task.due ? task.due.date : "";
  el.due_time.value = task.due && task.due.time ? task.due.time.slice(0, 5) : "";
  el.tags.value = task.tags.map((t) => t.name).join(", ");
  fillProjectSelect(el.project_id, task.project_id);
  // A subtask's project is its parent's: moving the parent moves it.
  $("#project-field").hidden = !!task.parent_id;
  $("#project-follows").hidden = !task.parent_id;
  $("#subtask-title").value = "";
  state.editingSubtasks = [];
  renderEditorSubtasks();
  loadEditorSubtasks();
  $("#editor-zone").textContent = zone();
  const rrule = task.recurrence ? task.recurrence.rrule.replace(/;INTERVAL=1(?=;|$)/, "") : "";
  el.repeat.value = !rrule ? "" : PRESETS.includes(rrule) ? rrule : "custom";
  el.rrule.value = rrule;
  $("#rrule-field").hidden = el.repeat.value !== "custom";
  form.dataset.initialRepeat = repeatValue(form);
  form.dataset.initialDue = dueValue(form) || "";
  updateRepeatPreview(form);
  $("#reminder-kind").value = "0";
  $("#reminder-at-field").hidden = true;
  resetDelete();
  $("#editor").showModal();
  renderReminders(task);
  el.title.focus();
}

// Where a delivery goes: "Email", a personal webhook by its name, or "Webhook" (the platform's, or one
// whose name is still being fetched).
function deliveryChannel(d) {
  if (!d.webhook_id || !state.webhookNames.has(d.webhook_id)) return CHANNEL_LABEL[d.channel];
  const name = state.webhookNames.get(d.webhook_id);
  return name === null ? "Deleted webhook" : `Webhook “${name}”`;
}

// Fetches the names of the personal webhooks a task's deliveries went to, once for ids not seen yet,
// and shows them in the open editor.
async function learnWebhookNames(task) {
  const unknown = task.reminders.flatMap((r) => r.deliveries).map((d) => d.webhook_id).filter((id) => id && !state.webhookNames.has(id));
  if (!unknown.length) return;
  try {
    const hooks = await api("GET", "/webhooks");
    for (const w of hooks) state.webhookNames.set(w.id, w.name);
  } catch {
    return;
  }
  for (const id of unknown) if (!state.webhookNames.has(id)) state.webhookNames.set(id, null);
  if (state.editing && state.editing.id === task.id && $("#editor").open) renderReminders(state.editing);
}

// What became of a fired reminder on each channel; nothing says "sent" unless that channel sent it.
function deliveryState(d) {
  const name = deliveryChannel(d);
  switch (d.status) {
    case "sent":
      return h("span", { class: "delivery sent", title: d.sent_at ? `Sent ${formatInstant(d.sent_at)}` : null }, `${name} sent`);
    case "failed":
      return h("span", { class: "delivery failed" },
        h("span", { class: "reason", title: d.last_error }, `${name} failed: ${d.last_error || "unknown error"}`),
        h("button", { type: "button", class: "btn ghost small", "aria-label": `Retry ${name[0].toLowerCase()}${name.slice(1)}`, onclick: (e) => retryDelivery(d, e.currentTarget) }, "Retry"));
    case "retrying":
      return h("span", { class: "delivery retrying", title: d.last_error ? `Attempt ${d.attempts} failed: ${d.last_error}` : null },
        `${name} retrying${d.next_attempt_at ? ` · next ${formatInstant(d.next_attempt_at)}` : ""}`);
    default:
      return h("span", { class: "delivery pending" }, `${name} sending…`);
  }
}

function reminderState(r) {
  if (!r.fired_at) return h("span", { class: "muted" }, r.fire_at ? formatInstant(r.fire_at) : "needs a due date");
  if (!r.fired_event_id) return h("span", { class: "muted" }, `Fired ${formatInstant(r.fired_at)}`);
  if (!r.deliveries.length) return h("span", { class: "delivery pending" }, "Sending…");
  return h("span", { class: "deliveries" }, ...r.deliveries.map(deliveryState));
}

// Due to fire within a minute, or fired and still being delivered: worth watching while the editor is open.
function reminderBusy(r) {
  if (!r.fired_at) return !!r.fire_at && Date.parse(r.fire_at) - Date.now() < 60_000;
  return !!r.fired_event_id && (!r.deliveries.length || r.deliveries.some((d) => d.status === "pending" || d.status === "retrying"));
}

function renderReminders(task) {
  const list = $("#reminder-list");
  list.replaceChildren(
    ...task.reminders.map((r) =>
      h("li", {},
        h("span", {}, describeReminder(r)),
        reminderState(r),
        h("button", { type: "button", class: "btn ghost small", "aria-label": `Remove reminder: ${describeReminder(r)}`, onclick: () => removeReminder(r) }, "Remove"),
      ),
    ),
  );
  if (!task.reminders.length) list.append(h("li", { class: "muted" }, "No reminders"));
  learnWebhookNames(task);
  clearTimeout(state.reminderWatch);
  if ($("#editor").open && task.reminders.some(reminderBusy)) {
    state.reminderWatch = setTimeout(() => refreshEditing().catch(() => {}), REMINDER_WATCH_MS);
  }
}

async function refreshEditing() {
  if (!state.editing || !$("#editor").open) return;
  const task = await api("GET", `/tasks/${state.editing.id}`);
  if (!state.editing || state.editing.id !== task.id) return;
  state.editing = task;
  renderReminders(task);
  replaceItem(task);
}

async function retryDelivery(d, btn) {
  btn.disabled = true;
  try {
    await api("POST", `/deliveries/${d.id}/retry`);
    await refreshEditing();
  } catch (err) {
    btn.disabled = false;
    toast(err.message);
  }
}

async function addReminder() {
  const form = $("#edit-form");
  clearErrors(form);
  const kind = $("#reminder-kind").value;
  const body = kind === "at" ? { at: $("#reminder-at").value } : { minutes_before: Number(kind) };
  if (kind === "at" && !body.at) {
    showErrors(form, new ApiError(400, { error: { message: "Pick the reminder's date and time.", field: "reminder" } }));
    return;
  }
  try {
    await api("POST", `/tasks/${state.editing.id}/reminders`, body);
    await refreshEditing();
  } catch (err) {
    showErrors(form, err.field ? err : Object.assign(err, { field: "reminder" }));
  }
}

async function removeReminder(r) {
  try {
    await api("DELETE", `/tasks/${state.editing.id}/reminders/${r.id}`);
    await refreshEditing();
  } catch (err) {
    toast(err.message);
  }
}

function dueValue(form) {
  const d = form.elements.due_date.value;
  const t = form.elements.due_time.value;
  if (!d) return t ? undefined : null;
  return t ? `${d}T${t}` : d;
}

async function saveEditor(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const task = state.editing;
  const el = form.elements;
  clearErrors(form);
  const patch = {};
  const title = el.title.value.trim();
  if (title !== task.title) patch.title = title;
  if (el.description.value !== task.description) patch.description = el.description.value;
  if (el.priority.value !== task.priority) patch.priority = el.priority.value;
  const due = dueValue(form);
  if (due === undefined) {
    showErrors(form, new ApiError(400, { error: { message: "Pick a date for the time.", field: "due" } }));
    return;
  }
  if ((due || "") !== form.dataset.initialDue) patch.due = due;
  const tags = [...new Set(el.tags.value.split(",").map((s) => s.trim().replace(/^#/, "")).filter(Boolean))];
  if (tags.join("\n").toLowerCase() !== task.tags.map((t) => t.name).join("\n").toLowerCase()) patch.tags = tags;
  const repeat = repeatValue(form);
  if (repeat && !due) {
    showErrors(form, new ApiError(400, { error: { message: "A repeating task needs a due date.", field: "recurrence" } }));
    return;
  }
  if (repeat !== form.dataset.initialRepeat) patch.recurrence = repeat ? { rrule: repeat } : null;
  if (!task.parent_id && el.project_id.value !== task.project_id) patch.project_id = el.project_id.value;
  if (!Object.keys(patch).length) {
    $("#editor").close();
    return;
  }
  try {
    const updated = await api("PATCH", `/tasks/${task.id}`, patch);
    replaceItem(updated);
    if (patch.tags) loadTags();
    if (patch.project_id) loadProjects();
    $("#editor").close();
    scheduleRefresh();
  } catch (err) {
    showErrors(form, err);
  }
}

function resetDelete() {
  const btn = $("#delete-task");
  btn.textContent = "Delete";
  delete btn.dataset.armed;
}

async function deleteTask() {
  const btn = $("#delete-task");
  if (!btn.dataset.armed) {
    btn.dataset.armed = "1";
    btn.textContent = "Click again to delete";
    return;
  }
  try {
    await api("DELETE", `/tasks/${state.editing.id}`);
    state.items = state.items.filter((t) => t.id !== state.editing.id);
    render();
    $("#editor").close();
    toast(`Deleted “${state.editing.title}”`);
    loadTags();
    loadProjects();
    scheduleRefresh();
  } catch (err) {
    toast(err.message);
  }
}

function fillProjectSelect(select, current) {
  const options = state.projects.map((p) => h("option", { value: p.id }, p.name));
  if (current && !state.projects.some((p) => p.id === current)) options.push(h("option", { value: current }, "(archived project)"));
  select.replaceChildren(...options);
  select.value = current;
}

// ---------- subtasks in the editor ----------

async function loadEditorSubtasks() {
  const id = state.editing.id;
  try {
    const page = await api("GET", `/tasks?parent=${id}&sort=created&order=asc&limit=${MAX_PAGE}`);
    if (!state.editing || state.editing.id !== id) return;
    state.editingSubtasks = page.items;
    renderEditorSubtasks();
  } catch (err) {
    toast(err.message);
  }
}

function renderEditorSubtasks() {
  const list = $("#editor-subtasks");
  list.replaceChildren(...state.editingSubtasks.map((s) => {
    const done = s.status === "completed";
    return h("li", { class: done ? "done" : null },
      h("label", {},
        h("input", { type: "checkbox", checked: done, onchange: (e) => completeFromEditor(s, e.currentTarget) }),
        h("span", {}, s.title)));
  }));
  if (!state.editingSubtasks.length) list.append(h("li", { class: "muted" }, "No subtasks"));
}

async function completeFromEditor(s, box) {
  try {
    await api("POST", `/tasks/${s.id}/${box.checked ? "complete" : "reopen"}`);
    await loadEditorSubtasks();
    scheduleRefresh();
  } catch (err) {
    box.checked = !box.checked;
    toast(err.message);
  }
}

async function addSubtask() {
  const form = $("#edit-form");
  const input = $("#subtask-title");
  clearErrors(form);
  try {
    await api("POST", "/tasks", { title: input.value.trim(), parent_id: state.editing.id });
    input.value = "";
    await loadEditorSubtasks();
    scheduleRefresh();
  } catch (err) {
    showErrors(form, Object.assign(err, { field: "subtask" }));
  }
  input.focus();
}

// ---------- sidebar: projects ----------

const errorSlot = (field) => h("span", { class: "field-error", "data-error-for": field, "aria-live": "polite" });

async function loadProjects() {
  try {
    state.projects = await api("GET", "/projects");
  } catch {
    return;
  }
  // The project shown was archived or deleted (here or elsewhere): show everything instead.
  if (state.view.project && !state.projects.some((p) => p.id === state.view.project)) selectProject(null);
  renderProjects();
  if ($("#archived").open) loadArchived();
}

// Rebuilding the sidebar keeps keyboard focus on the control it was on (say, "Move up" after a move).
function keepFocus(container, rebuild) {
  const key = container.contains(document.activeElement) && document.activeElement.dataset.key;
  rebuild();
  const again = key && $(`[data-key="${CSS.escape(key)}"]`, container);
  if (again) again.focus();
}

function renderProjects() {
  const list = $("#project-list");
  const movable = state.projects.filter((p) => !p.inbox);
  keepFocus(list, () => list.replaceChildren(...state.projects.map((p) => projectRow(p, movable))));
  $("#view-all").setAttribute("aria-current", state.view.project || state.view.agenda ? "false" : "page");
  $("#view-today").setAttribute("aria-current", state.view.agenda === "today" ? "page" : "false");
  $("#view-upcoming").setAttribute("aria-current", state.view.agenda === "upcoming" ? "page" : "false");
  const current = state.projects.find((p) => p.id === state.view.project);
  $("#view-title").textContent = AGENDA_TITLE[state.view.agenda] || (current ? current.name : "All tasks");
  // Says where a new task goes: into the project shown, else the Inbox (or the line's +project).
  const qa = $("#qa-title");
  qa.dataset.placeholder ||= qa.placeholder;
  qa.placeholder = current ? `Add a task to ${current.name}…` : qa.dataset.placeholder;
  if ($("#editor").open && state.editing && !state.editing.parent_id) {
    const select = $("#edit-form").elements.project_id;
    fillProjectSelect(select, select.value);
  }
}

function navItem(color, label, count, countLabel, attrs) {
  return h("button", { type: "button", class: "nav-item", ...attrs },
    h("span", { class: "dot", style: `--dot:${color}`, "aria-hidden": "true" }),
    h("span", { class: "nav-label" }, label),
    h("span", { class: "count" }, String(count), h("span", { class: "sr-only" }, ` ${countLabel}`)));
}

function projectRow(p, movable) {
  const key = `p:${p.id}`;
  const open = state.openPanel === key;
  const li = h("li", { class: "nav-row", "data-id": p.id },
    navItem(p.color, p.name, p.open_tasks, "open", {
      "data-key": `${key}:show`, "aria-current": state.view.project === p.id ? "page" : "false", onclick: () => selectProject(p.id),
    }),
    h("button", {
      type: "button", class: "btn ghost icon small", "data-key": `${key}:edit`, "aria-expanded": String(open),
      "aria-label": `Edit project “${p.name}”`, title: "Rename, recolour, move, archive or delete", onclick: () => togglePanel(key),
    }, "⋯"));
  if (!open) return li;
  const form = h("form", { class: "nav-form stack", novalidate: true, "aria-label": `Project “${p.name}”`, onsubmit: (e) => {
    e.preventDefault();
    patchProject(p, { name: form.elements.name.value.trim() }, form);
  } });
  form.append(
    h("label", { class: "field" }, h("span", {}, "Project title"),
      h("input", { name: "name", value: p.name, maxlength: "100", autocomplete: "off", "data-key": `${key}:title` }), errorSlot("name")),
    h("label", { class: "field" }, h("span", {}, "Colour"),
      h("input", { type: "color", name: "color", value: p.color, "data-key": `${key}:color`, "aria-label": `Colour of “${p.name}”`,
        onchange: (e) => patchProject(p, { color: e.currentTarget.value }, form) }), errorSlot("color")),
    h("p", { class: "form-error", "data-error-for": "", role: "alert" }),
    h("div", { class: "row" },
      h("button", { type: "submit", class: "btn small primary", "data-key": `${key}:save` }, "Save"),
      p.inbox ? null : moveButton(p, form, movable, -1),
      p.inbox ? null : moveButton(p, form, movable, 1),
      p.inbox ? null : h("button", { type: "button", class: "btn small", "aria-label": `Archive “${p.name}”`, onclick: () => archiveProject(p, true, form) }, "Archive"),
      p.inbox ? null : h("button", { type: "button", class: "btn small danger ghost", "aria-label": `Delete “${p.name}”`, onclick: () => askDeleteProject(p) }, "Delete…")),
    p.inbox ? h("p", { class: "muted small-print" }, "The Inbox stays first and cannot be archived or deleted.") : "");
  li.append(form);
  return li;
}

// At either end a move button is aria-disabled rather than disabled, so it keeps the keyboard focus it had
// when the project got there.
function moveButton(p, form, movable, step) {
  const to = movable[movable.indexOf(p) + step];
  const dir = step < 0 ? "up" : "down";
  return h("button", {
    type: "button", class: "btn small", "data-key": `p:${p.id}:${dir}`, "aria-label": `Move “${p.name}” ${dir}`, "aria-disabled": to ? null : "true",
    onclick: () => to && patchProject(p, { position: to.position }, form),
  }, step < 0 ? "↑ Up" : "↓ Down");
}

function togglePanel(key) {
  state.openPanel = state.openPanel === key ? null : key;
  renderProjects();
  renderTags();
  const panel = state.openPanel && $(`[data-key="${CSS.escape(`${key}:title`)}"]`);
  if (panel) panel.focus();
}

async function patchProject(p, patch, form) {
  clearErrors(form);
  try {
    await api("PATCH", `/projects/${p.id}`, patch);
    await loadProjects();
    // Chips on the rows show project names and colours.
    if (patch.name || patch.color) render();
  } catch (err) {
    showErrors(form, err);
  }
}

async function archiveProject(p, archived, form) {
  try {
    await api("PATCH", `/projects/${p.id}`, { archived });
    if (archived && state.openPanel === `p:${p.id}`) state.openPanel = null;
    toast(archived ? `Archived “${p.name}”` : `Restored “${p.name}”`);
    await loadProjects();
    reload({ keepCount: true });
  } catch (err) {
    if (form) showErrors(form, err);
    else toast(err.message);
  }
}

async function loadArchived() {
  let all;
  try {
    all = await api("GET", "/projects?archived=true");
  } catch (err) {
    toast(err.message);
    return;
  }
  const archived = all.filter((p) => p.archived);
  $("#archived-list").replaceChildren(...archived.map((p) => h("li", { class: "nav-row", "data-id": p.id },
    h("span", { class: "nav-item static" },
      h("span", { class: "dot", style: `--dot:${p.color}`, "aria-hidden": "true" }),
      h("span", { class: "nav-label" }, p.name)),
    h("button", { type: "button", class: "btn small", "aria-label": `Restore “${p.name}”`, onclick: () => archiveProject(p, false) }, "Restore"),
    h("button", { type: "button", class: "btn small danger ghost", "aria-label": `Delete “${p.name}”`, onclick: () => askDeleteProject(p) }, "Delete…"))));
  $("#archived-empty").hidden = archived.length > 0;
}

function askDeleteProject(p) {
  state.deleting = p;
  const form = $("#project-delete-form");
  clearErrors(form);
  form.elements.tasks.value = "move";
  $("#project-delete-title").textContent = `Delete “${p.name}”?`;
  $("#project-delete-text").textContent = p.task_count
    ? `It has ${p.task_count} task${p.task_count === 1 ? "" : "s"} (${p.open_tasks} open). What should happen to ${p.task_count === 1 ? "it" : "them"}?`
    : "It has no tasks.";
  $("#project-delete").showModal();
}

async function deleteProject(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const p = state.deleting;
  try {
    await api("DELETE", `/projects/${p.id}?tasks=${form.elements.tasks.value}`);
    $("#project-delete").close();
    toast(`Deleted “${p.name}”`);
    if (state.openPanel === `p:${p.id}`) state.openPanel = null;
    await loadProjects();
    loadTags();
    reload({ keepCount: true });
  } catch (err) {
    showErrors(form, err);
  }
}

async function createProject(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  clearErrors(form);
  try {
    const project = await api("POST", "/projects", { name: form.elements.name.value.trim(), color: form.elements.color.value });
    form.reset();
    showProjectForm(false);
    await loadProjects();
    selectProject(project.id);
  } catch (err) {
    showErrors(form, err);
  }
}

function showProjectForm(show) {
  $("#project-form").hidden = !show;
  $("#new-project").setAttribute("aria-expanded", String(show));
  if (show) $("#project-form").elements.name.focus();
}

function selectProject(id) {
  if (state.view.project === id && !state.view.agenda) return;
  state.view = { project: id, agenda: null };
  state.selected = null;
  renderProjects();
  showSidebar(false);
  reload();
}

// ---------- Today and Upcoming ----------

const AGENDA_TITLE = { today: "Today", upcoming: "Upcoming" };
const UPCOMING_DAYS = 14;

function selectAgenda(kind) {
  if (state.view.agenda === kind) return;
  state.view = { project: null, agenda: kind };
  state.selected = null;
  renderProjects();
  showSidebar(false);
  reload();
}

// The agenda replaces the filtered list: its own sections by day, the same task rows.
function showAgenda(on) {
  for (const el of [...$$(".toolbar"), $("#summary"), $("#tasks"), $("#empty"), $(".more")]) el.classList.toggle("agenda-hidden", on);
  $("#agenda").hidden = !on;
}

async function loadAgenda() {
  const kind = state.view.agenda;
  const seq = ++state.seq;
  busy(1);
  try {
    const view = kind === "today" ? await api("GET", "/views/today") : await api("GET", `/views/upcoming?days=${UPCOMING_DAYS}`);
    if (seq !== state.seq || state.view.agenda !== kind) return;
    const sections = kind === "today"
      ? [["Overdue", view.overdue, []], ["Due today", view.today, []]].filter(([, tasks], i) => i === 1 || tasks.length)
      : view.days.map((d) => [formatDate(d.date), d.tasks, d.occurrences]);
    state.items = sections.flatMap(([, tasks]) => tasks);
    state.order = state.items.map((t) => t.id);
    $("#agenda").replaceChildren(...sections.map(([title, tasks, coming]) => agendaSection(title, tasks, coming)));
    if (!state.items.length && !sections.some(([, , coming]) => coming.length)) {
      $("#agenda").append(h("p", { class: "empty muted" }, kind === "today" ? "Nothing due today." : `Nothing due in the next ${UPCOMING_DAYS} days.`));
    }
  } catch (err) {
    toast(err.message);
  } finally {
    busy(-1);
  }
}

function agendaSection(title, tasks, coming) {
  const id = `agenda-${title.replace(/\W+/g, "-").toLowerCase()}`;
  const rows = tasks.map((task) => {
    const li = h("li", { class: "task", "data-id": task.id });
    fillTask(li, task);
    return li;
  });
  // A recurring task's later occurrences: not tasks yet, so shown without controls.
  const projected = coming.map((o) => h("li", { class: "task projected", "data-role": "occurrence" },
    h("span", { class: "rec", "aria-hidden": "true" }, icon("repeat")),
    h("div", { class: "body" }, h("span", { class: "title" }, o.title), h("div", { class: "meta" }, h("time", { datetime: o.due.date }, formatDue(o.due))))));
  const empty = !rows.length && !projected.length ? [h("li", { class: "muted agenda-empty" }, "Nothing due")] : [];
  return h("section", { class: "agenda-day", "aria-labelledby": id },
    h("h3", { class: "agenda-head", id }, title),
    h("ul", { class: "tasks", "aria-labelledby": id }, ...rows, ...projected, ...empty));
}

// ---------- reminders in the open tab ----------

// Reminders that fired and are not dismissed yet, from the server: a tab opened (or reopened) after a
// reminder fired still shows it, and one dismissed or snoozed in another tab leaves this one too.
async function loadAlerts() {
  let alerts;
  try {
    alerts = await api("GET", "/alerts");
  } catch {
    return;
  }
  const keep = new Set(alerts.map((a) => a.reminder_id));
  for (const card of $("#alerts").querySelectorAll('[data-role="reminder"]')) {
    if (!keep.has(card.dataset.reminder)) card.remove();
  }
  for (const a of alerts.reverse()) showReminder(a, { quiet: true });
}
const scheduleAlerts = debounce(() => {
  if (state.token) loadAlerts();
}, 300);

function dropAlert(reminderId) {
  $("#alerts").querySelector(`[data-reminder="${CSS.escape(reminderId)}"]`)?.remove();
}

// `data` is a `todo.reminder.due.v1` event's data or an alert (the same fields). A live firing also raises
// a desktop notification when allowed; alerts loaded from the server do not, they were due earlier.
function showReminder(data, { quiet = false } = {}) {
  const task = data.task;
  if ($("#alerts").querySelector(`[data-reminder="${CSS.escape(data.reminder_id)}"]`)) return;
  const due = task.due ? ` · due ${formatDue(task.due)}` : "";
  if (!quiet && window.Notification && Notification.permission === "granted") new Notification(task.title, { body: `Reminder${due}`, tag: data.reminder_id });
  const card = h("div", { class: "alert card", role: "alert", "data-role": "reminder", "data-reminder": data.reminder_id });
  const act = (path, body, done) => async () => {
    try {
      await api("POST", `/tasks/${task.id}/reminders/${data.reminder_id}/${path}`, body);
      if (done) toast(done);
      card.remove();
    } catch (err) {
      toast(err.message);
    }
  };
  const snooze = (body, label) => act("snooze", body, `Snoozed “${task.title}” ${label}`);
  card.append(
    h("p", {}, h("span", { class: "alert-icon", "aria-hidden": "true" }, icon("bell")), task.title, h("span", { class: "muted" }, due)),
    h("div", { class: "row" },
      h("button", { type: "button", class: "btn small", onclick: snooze({ minutes: 10 }, "for 10 minutes") }, "Snooze 10 min"),
      h("button", { type: "button", class: "btn small", onclick: snooze({ minutes: 60 }, "for an hour") }, "1 hour"),
      h("button", { type: "button", class: "btn small", onclick: snooze({ until: `${todayIn(zone(), 1)}T09:00` }, "until tomorrow 09:00") }, "Tomorrow 9:00"),
      h("button", { type: "button", class: "btn ghost small", onclick: act("dismiss") }, "Dismiss")));
  // Any other time within the week the API allows, in the user's zone.
  const until = h("input", { type: "datetime-local", "aria-label": "Snooze until", required: true,
    min: `${todayIn(zone())}T00:00`, max: `${todayIn(zone(), 7)}T23:59` });
  card.append(h("form", { class: "row", onsubmit: (e) => {
    e.preventDefault();
    snooze({ until: until.value }, `until ${until.value.replace("T", " ")}`)();
  } }, until, h("button", { type: "submit", class: "btn small" }, "Snooze until")));
  // Desktop notifications need the user's leave, asked from a click.
  if (window.Notification && Notification.permission === "default") {
    const ask = h("button", { type: "button", class: "btn ghost small", onclick: () => Notification.requestPermission().then(() => ask.remove()) }, "Notify me outside this tab");
    card.append(ask);
  }
  $("#alerts").prepend(card);
}

// ---------- sidebar: tags ----------

function renderTags() {
  const list = $("#tag-list");
  const active = $("#f-tag").value.toLowerCase();
  keepFocus(list, () => list.replaceChildren(...state.tags.map((t) => tagRow(t, active))));
  $("#tags-empty").hidden = state.tags.length > 0;
}

function tagRow(t, active) {
  const key = `t:${t.id}`;
  const open = state.openPanel === key;
  const color = tagColor(t);
  const li = h("li", { class: "nav-row", "data-id": t.id },
    navItem(color, `#${t.name}`, t.task_count, t.task_count === 1 ? "task" : "tasks", {
      "data-key": `${key}:show`, "aria-pressed": String(active === t.name.toLowerCase()), title: `Show tasks tagged ${t.name}`,
      onclick: () => {
        filterTag(active === t.name.toLowerCase() ? "" : t.name);
        showSidebar(false);
      },
    }),
    h("button", {
      type: "button", class: "btn ghost icon small", "data-key": `${key}:edit`, "aria-expanded": String(open),
      "aria-label": `Edit tag “${t.name}”`, title: "Rename, recolour or delete", onclick: () => togglePanel(key),
    }, "⋯"));
  if (!open) return li;
  const form = h("form", { class: "nav-form stack", novalidate: true, "aria-label": `Tag “${t.name}”`, onsubmit: (e) => {
    e.preventDefault();
    patchTag(t, { name: form.elements.name.value.trim() }, form);
  } },
    h("label", { class: "field" }, h("span", {}, "Tag title"),
      h("input", { name: "name", value: t.name, maxlength: "64", autocomplete: "off", "data-key": `${key}:title` }), errorSlot("name")),
    h("label", { class: "field" }, h("span", {}, "Colour"),
      h("input", { type: "color", name: "color", value: color, "data-key": `${key}:color`, "aria-label": `Colour of tag “${t.name}”`,
        onchange: (e) => patchTag(t, { color: e.currentTarget.value }, form) }), errorSlot("color")),
    h("p", { class: "form-error", "data-error-for": "", role: "alert" }),
    h("div", { class: "row" },
      h("button", { type: "submit", class: "btn small primary", "data-key": `${key}:save` }, "Save"),
      h("button", { type: "button", class: "btn small danger ghost", "aria-label": `Delete tag “${t.name}”`, onclick: (e) => deleteTag(t, e.currentTarget) }, "Delete")));
  li.append(form);
  return li;
}

async function patchTag(t, patch, form) {
  clearErrors(form);
  try {
    await api("PATCH", `/tags/${t.id}`, patch);
    // The filter follows a renamed tag.
    if (patch.name && $("#f-tag").value.toLowerCase() === t.name.toLowerCase()) filterTag(patch.name);
    await loadTags();
    // Chips carry the tag's name and colour; changing a tag does not change its tasks.
    reload({ keepCount: true });
  } catch (err) {
    showErrors(form, err);
  }
}

async function deleteTag(t, btn) {
  if (!btn.dataset.armed) {
    btn.dataset.armed = "1";
    btn.textContent = "Click again to delete";
    return;
  }
  try {
    await api("DELETE", `/tags/${t.id}`);
    state.openPanel = null;
    toast(`Deleted tag “${t.name}”`);
    if ($("#f-tag").value.toLowerCase() === t.name.toLowerCase()) filterTag("");
    await loadTags();
    reload({ keepCount: true });
  } catch (err) {
    toast(err.message);
  }
}

// On narrow screens the sidebar slides over the list behind a button in the top bar.
function showSidebar(show) {
  document.body.classList.toggle("sidebar-open", show);
  $("#sidebar-toggle").setAttribute("aria-expanded", String(show));
  if (show) $("#view-all").focus();
}

// ---------- keyboard ----------

function rows() {
  return $$("#tasks > li");
}

function select(li) {
  state.selected = li ? li.dataset.id : null;
  for (const row of rows()) row.classList.toggle("selected", row === li);
  if (li) {
    $('[data-role="title"]', li).focus();
    li.scrollIntoView({ block: "nearest" });
  }
}

function moveSelection(step) {
  const all = rows();
  if (!all.length) return;
  const at = all.findIndex((li) => li.dataset.id === state.selected);
  const next = at < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, at + step));
  select(all[next]);
}

function selectedRow() {
  return rows().find((li) => li.dataset.id === state.selected);
}

function openShortcuts() {
  for (const row of $$("#shortcuts [data-needs]")) row.hidden = !document.getElementById(row.dataset.needs);
  $("#shortcuts").showModal();
}

// ---------- live updates ----------

const scheduleRefresh = debounce(() => {
  if (state.token) reload({ keepCount: true });
}, 200);
const scheduleSidebar = debounce(() => {
  if (!state.token) return;
  loadTags();
  loadProjects();
}, 400);

function connectEvents() {
  if (state.events) state.events.close();
  const es = new EventSource(`${API}/events?access_token=${encodeURIComponent(state.token)}`);
  const onChange = () => {
    scheduleRefresh();
    scheduleSidebar();
    // A task completed, deleted or snoozed elsewhere takes its alerts with it.
    if ($("#alerts").querySelector('[data-role="reminder"]')) scheduleAlerts();
  };
  for (const kind of ["created", "updated", "completed", "reopened", "deleted"]) es.addEventListener(`todo.task.${kind}.v1`, onChange);
  es.addEventListener("resync", () => {
    onChange();
    scheduleAlerts();
  });
  es.addEventListener("todo.reminder.due.v1", (ev) => showReminder(JSON.parse(ev.data)));
  es.addEventListener("todo.reminder.dismissed.v1", (ev) => dropAlert(JSON.parse(ev.data).reminder_id));
  // A project created, renamed, recoloured, archived or deleted in another tab: the sidebar, and the
  // list's project chips.
  es.addEventListener("todo.project.changed.v1", onChange);
  es.onopen = () => document.body.classList.remove("offline");
  es.onerror = () => {
    document.body.classList.add("offline");
    if (es.readyState === EventSource.CLOSED && state.events === es) {
      setTimeout(() => state.token && state.events === es && api("GET", "/me").then(connectEvents, () => {}), 3000);
    }
  };
  state.events = es;
}

// ---------- wiring ----------

function wire() {
  $("#tab-signup").addEventListener("click", () => setAuthMode("signup"));
  $("#tab-login").addEventListener("click", () => setAuthMode("login"));
  $(".tabs").addEventListener("keydown", (e) => {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    const next = state.authMode === "signup" ? "login" : "signup";
    setAuthMode(next);
    $(`#tab-${next}`).focus();
  });
  $("#auth-form").addEventListener("submit", submitAuth);
  $("#logout").addEventListener("click", () => signOut());
  $("#open-tokens").addEventListener("click", openTokens);
  $("#tokens-close").addEventListener("click", () => $("#tokens").close());
  $("#tokens").addEventListener("close", () => {
    $("#token-secret-value").value = "";
    $("#token-secret").hidden = true;
  });
  $("#token-form").addEventListener("submit", createToken);
  $("#token-copy").addEventListener("click", copyToken);
  $("#open-settings").addEventListener("click", openSettings);
  $("#settings-close").addEventListener("click", () => $("#settings").close());
  $("#settings").addEventListener("close", hideSecrets);
  $("#email-form").addEventListener("submit", saveEmailSettings);
  $("#webhook-form").addEventListener("submit", addWebhook);
  $("#webhook-copy").addEventListener("click", () => copySecret($("#webhook-secret-value"), "Secret"));
  $("#feed-form").addEventListener("submit", createFeed);
  $("#feed-copy").addEventListener("click", () => copySecret($("#feed-secret-value"), "URL"));
  $("#zone-switch").addEventListener("click", switchZone);
  $("#zone-dismiss").addEventListener("click", () => {
    localStorage.setItem("todo.zone-dismissed", `${state.user.time_zone}|${BROWSER_ZONE}`);
    $("#zone-banner").hidden = true;
  });
  $("#quick-add").addEventListener("submit", quickAdd);
  $("#qa-title").addEventListener("input", debounce(previewQuickAdd, 200));

  const search = $("#search");
  const sort = $("#sort");
  const rankOpt = $("option[data-needs-q]", sort);
  const syncSort = () => {
    const hasQ = /[\p{L}\p{N}]/u.test(search.value);
    rankOpt.disabled = !hasQ;
    if (hasQ && sort.value === "created:desc" && !sort.dataset.touched) sort.value = "rank:desc";
    if (!hasQ && sort.value === "rank:desc") sort.value = "created:desc";
  };
  syncSort();
  search.addEventListener("input", debounce(() => {
    syncSort();
    reload();
  }, 250));
  sort.addEventListener("change", () => {
    sort.dataset.touched = "1";
    reload();
  });
  for (const el of [...$$('input[name="status"]'), $("#f-due"), $("#f-priority"), $("#f-tag")]) el.addEventListener("change", () => reload());
  $("#f-tag").addEventListener("change", renderTags);
  $("#load-more").addEventListener("click", loadMore);

  const form = $("#edit-form");
  form.addEventListener("submit", saveEditor);
  form.elements.repeat.addEventListener("change", () => {
    const custom = form.elements.repeat.value === "custom";
    $("#rrule-field").hidden = !custom;
    if (custom) form.elements.rrule.focus();
  });
  const preview = debounce(() => updateRepeatPreview(form), 250);
  for (const name of ["repeat", "rrule", "due_date", "due_time"]) form.elements[name].addEventListener("input", preview);
  $("#reminder-kind").addEventListener("change", (e) => {
    $("#reminder-at-field").hidden = e.currentTarget.value !== "at";
  });
  $("#reminder-add").addEventListener("click", addReminder);
  $("#subtask-add").addEventListener("click", addSubtask);
  $("#subtask-title").addEventListener("keydown", (e) => {
    // Enter adds the subtask rather than saving the whole task.
    if (e.key !== "Enter") return;
    e.preventDefault();
    addSubtask();
  });
  $("#delete-task").addEventListener("click", deleteTask);
  $("#editor-close").addEventListener("click", () => $("#editor").close());
  $("#editor-cancel").addEventListener("click", () => $("#editor").close());
  $("#editor").addEventListener("click", (e) => {
    if (e.target === e.currentTarget) e.currentTarget.close();
  });
  $("#editor").addEventListener("close", () => {
    clearTimeout(state.reminderWatch);
    const li = state.editing && $(`#tasks li[data-id="${state.editing.id}"] [data-role="title"]`);
    if (li) li.focus();
  });

  $("#view-all").addEventListener("click", () => selectProject(null));
  $("#view-today").addEventListener("click", () => selectAgenda("today"));
  $("#view-upcoming").addEventListener("click", () => selectAgenda("upcoming"));
  $("#new-project").addEventListener("click", () => showProjectForm($("#project-form").hidden));
  $("#project-form-cancel").addEventListener("click", () => showProjectForm(false));
  $("#project-form").addEventListener("submit", createProject);
  $("#archived").addEventListener("toggle", (e) => e.currentTarget.open && loadArchived());
  $("#project-delete-form").addEventListener("submit", deleteProject);
  $("#project-delete-cancel").addEventListener("click", () => $("#project-delete").close());
  $("#sidebar-toggle").addEventListener("click", () => showSidebar(!document.body.classList.contains("sidebar-open")));
  $("#open-shortcuts").addEventListener("click", openShortcuts);
  $("#shortcuts-close").addEventListener("click", () => $("#shortcuts").close());

  // Single-key shortcuts (listed in the "?" overlay); never while typing in a field or with a dialog open.
  const keys = {
    "/": () => search.focus(),
    q: () => $("#qa-title").focus(),
    "?": openShortcuts,
    j: () => moveSelection(1),
    k: () => moveSelection(-1),
    x: () => {
      const li = selectedRow();
      if (li) $('[data-role="check"]', li).click();
    },
    e: () => {
      const li = selectedRow();
      if (li) openEditor(li.dataset.id);
    },
    // Today and Upcoming, where the page has those views.
    t: () => $("#view-today") && $("#view-today").click(),
    u: () => $("#view-upcoming") && $("#view-upcoming").click(),
  };
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || $("#app-view").hidden || $$("dialog").some((d) => d.open)) return;
    const el = document.activeElement;
    const typing = /^(TEXTAREA|SELECT)$/.test(el.tagName) || (el.tagName === "INPUT" && !["checkbox", "radio", "color"].includes(el.type));
    if (e.key === "Escape") {
      if (el === search && search.value) {
        search.value = "";
        syncSort();
        reload();
      } else if (document.body.classList.contains("sidebar-open")) {
        showSidebar(false);
        $("#sidebar-toggle").focus();
      } else if (!typing) {
        select(null);
      }
      return;
    }
    if (typing || !Object.hasOwn(keys, e.key)) return;
    e.preventDefault();
    keys[e.key]();
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.token && state.user) scheduleRefresh();
  });
}

async function start() {
  wire();
  if (!state.token) return showAuth();
  try {
    await enterApp();
  } catch (err) {
    if (state.token) signOut(err.status === 0 ? err.message : "Please log in again.");
  }
}

start();
