// SHEMS web UI: reads the add-on's API with relative URLs (works at / and behind any ingress path
// prefix) and draws its charts on plain canvases, so nothing is fetched from the internet.
// Through Home Assistant's ingress the add-on trusts the request; opened directly (http://HOST:8099/)
// the API answers 401 and the page asks for the API token once, keeping it in localStorage.
"use strict";

const TOKEN_KEY = "shems_api_token";

function storedToken() {
  try { return localStorage.getItem(TOKEN_KEY); } catch (err) { return null; }
}

class NeedsToken extends Error {}

async function api(path, options = {}, token = storedToken()) {
  const headers = new Headers(options.headers || {});
  if (token) headers.set("Authorization", "Bearer " + token);
  const resp = await fetch("api/v1/" + path, { ...options, headers });
  if (resp.status === 401) throw new NeedsToken("the API token is missing or not valid");
  const body = resp.status === 204 ? null : await resp.json().catch(() => null);
  if (!resp.ok) throw new Error((body && body.error) || resp.statusText);
  return body;
}

const $ = (id) => document.getElementById(id);
const fmt = (value, digits = 2) => (value === null || value === undefined ? "–" : Number(value).toFixed(digits));
// Times are shown in the home's time zone (the site's), wherever the browser is.
let timeZone;
const inZone = (options) => (timeZone ? { ...options, timeZone } : options);
const hhmm = (ms) => new Date(ms).toLocaleTimeString([], inZone({ hour: "2-digit", minute: "2-digit" }));
const dayMonth = (ms) => new Date(ms).toLocaleDateString([], inZone({ day: "numeric", month: "short" }));
const dayTime = (ms) => new Date(ms).toLocaleString([], inZone({ weekday: "short", hour: "2-digit", minute: "2-digit" }));
const COLORS = { pv: "#f2a900", load: "#3b6ea8", import: "#c0392b", export: "#27ae60", price: "#6c3483",
                 soc: ["#1f6f43", "#8e44ad", "#d35400", "#2c3e50"], actual: "#34495e", forecast: "#e67e22",
                 consumption: "#2e86c1" };
let names = {};  // asset id → the name people gave it (from the site document)
const nameOf = (id) => names[id] || "unnamed asset";

// A "nice" axis: ticks at 1, 2 or 5 × 10^n covering [lo, hi], with the decimals they need.
function niceScale(lo, hi, ticks = 4) {
  if (!(hi > lo)) hi = lo + (lo === 0 ? 1 : Math.abs(lo));
  const rough = (hi - lo) / ticks;
  const power = Math.pow(10, Math.floor(Math.log10(rough)));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) || 10 * power;
  const min = Math.floor(lo / step) * step, max = Math.ceil(hi / step) * step;
  const digits = Math.max(0, -Math.floor(Math.log10(step)));
  const values = [];
  for (let v = min; v <= max + step / 2; v += step) values.push(Number(v.toFixed(digits)));
  return { min, max, values, digits };
}

// The frame of a chart: axes over [x0, x1] × y-scale, grid lines, tick labels and the legend.
function frame(canvas, x0, x1, scale, { unit = "", legend = [] } = {}) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, left = 64, right = 12, top = 24, bottom = 26;
  ctx.clearRect(0, 0, w, h);
  const X = (x) => left + ((x - x0) / (x1 - x0 || 1)) * (w - left - right);
  const Y = (y) => top + (1 - (y - scale.min) / (scale.max - scale.min || 1)) * (h - top - bottom);
  ctx.strokeStyle = "#d5dbde"; ctx.fillStyle = "#5f6b76"; ctx.font = "11px sans-serif"; ctx.lineWidth = 1;
  for (const y of scale.values) {
    ctx.beginPath(); ctx.moveTo(left, Y(y)); ctx.lineTo(w - right, Y(y)); ctx.stroke();
    ctx.fillText(`${y.toFixed(scale.digits)}${unit}`, 2, Y(y) + 4);
  }
  for (let i = 0; i <= 6; i++) {
    const x = x0 + ((x1 - x0) * i) / 6;
    const text = x1 - x0 > 3 * 86400e3 ? dayMonth(x) : x1 - x0 > 20 * 3600e3 ? dayTime(x) : hhmm(x);
    const width = ctx.measureText(text).width;
    ctx.fillText(text, Math.min(Math.max(X(x) - width / 2, left - 20), w - width - 2), h - 8);
  }
  let legendX = left;
  for (const { label, color } of legend) {
    ctx.fillStyle = color; ctx.fillRect(legendX, 7, 10, 10);
    ctx.fillStyle = "#1b1f23"; ctx.fillText(label, legendX + 14, 16);
    legendX += 26 + ctx.measureText(label).width;
  }
  return { ctx, X, Y };
}

function noData(canvas, text) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = "#5f6b76"; ctx.font = "14px sans-serif"; ctx.fillText(text, 64, canvas.height / 2);
  canvas.dataset.rendered = "empty";
}

// Line series [{label, color, points: [[x ms, y], ...]}]; marks the canvas as rendered.
function lineChart(canvas, series, { unit = "", yMin = null, yMax = null, empty = "no data yet" } = {}) {
  const all = series.flatMap((s) => s.points).filter((p) => p[1] !== null && Number.isFinite(p[1]));
  if (!all.length) return noData(canvas, empty);
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  const scale = niceScale(yMin ?? Math.min(0, ...ys), yMax ?? Math.max(...ys));
  const { ctx, X, Y } = frame(canvas, x0, x1, scale, { unit, legend: series });
  for (const s of series) {
    ctx.strokeStyle = s.color; ctx.lineWidth = 2; ctx.beginPath();
    let pen = false;
    for (const [x, y] of s.points) {
      if (y === null || !Number.isFinite(y)) { pen = false; continue; }
      if (pen) ctx.lineTo(X(x), Y(y)); else { ctx.moveTo(X(x), Y(y)); pen = true; }
    }
    ctx.stroke();
    ctx.fillStyle = s.color;  // a lone value (the first hour of a day) is a dot, not nothing
    s.points.forEach(([x, y], i) => {
      const near = (j) => s.points[j] && Number.isFinite(s.points[j][1]);
      if (Number.isFinite(y) && !near(i - 1) && !near(i + 1)) {
        ctx.beginPath(); ctx.arc(X(x), Y(y), 3, 0, 2 * Math.PI); ctx.fill();
      }
    });
  }
  canvas.dataset.rendered = "true";
}

// Bars [{start ms, end ms, value}] over the period [x0, x1]: each bar as wide as its bucket.
function barChart(canvas, bars, x0, x1, { label, color, unit = "", empty }) {
  const shown = bars.filter((b) => Number.isFinite(b.value));
  if (!shown.length) return noData(canvas, empty);
  const scale = niceScale(0, Math.max(...shown.map((b) => b.value)));
  const { ctx, X, Y } = frame(canvas, x0, x1, scale, { unit, legend: [{ label, color }] });
  ctx.fillStyle = color;
  for (const b of shown) {
    const left = X(Math.max(b.start, x0)), right = X(Math.min(b.end, x1));
    const width = Math.max(1, right - left - Math.min(2, (right - left) * 0.15));
    ctx.fillRect(left, Y(b.value), width, Y(0) - Y(b.value));
  }
  canvas.dataset.rendered = "true";
  canvas.dataset.bars = String(shown.length);
}

// The plan's message is its notes joined by "; ": one list item each, starting with a capital.
function renderNotes(message) {
  const list = $("plan-notes");
  list.innerHTML = "";
  for (const note of (message || "").split("; ").filter(Boolean)) {
    const li = document.createElement("li");
    li.textContent = note.charAt(0).toUpperCase() + note.slice(1);
    list.appendChild(li);
  }
}

function renderPlan(plan) {
  const currency = plan.currency || "EUR";
  document.querySelectorAll(".currency").forEach((el) => (el.textContent = currency));
  $("cost-24h").textContent = fmt(plan.cost_next_24h);
  $("plan-savings").textContent = fmt(plan.savings);
  $("plan-time").textContent = new Date(plan.created_at).toLocaleString([], inZone({ dateStyle: "medium", timeStyle: "short" }));
  renderNotes(plan.message);
  const steps = plan.steps || [];
  const t = (s) => Date.parse(s.start);
  lineChart($("chart-power"), [
    { label: "solar (W)", color: COLORS.pv, points: steps.map((s) => [t(s), s.pv_w]) },
    { label: "home (W)", color: COLORS.load, points: steps.map((s) => [t(s), s.load_w]) },
    { label: "from the grid (W)", color: COLORS.import, points: steps.map((s) => [t(s), s.grid_import_w]) },
    { label: "to the grid (W)", color: COLORS.export, points: steps.map((s) => [t(s), s.grid_export_w]) },
  ]);
  lineChart($("chart-price"), [
    { label: `import price (${currency}/kWh)`, color: COLORS.price, points: steps.map((s) => [t(s), s.import_price]) },
  ]);
  const socSeries = [];
  const ids = new Set(steps.flatMap((s) => Object.keys(s.assets || {})));
  for (const id of ids) {
    if (steps.some((s) => s.assets[id] && s.assets[id].soc_pct !== undefined)) {
      socSeries.push({ label: `${nameOf(id)} (%)`, color: COLORS.soc[socSeries.length % COLORS.soc.length],
                       points: steps.map((s) => [t(s), s.assets[id] ? s.assets[id].soc_pct : null]) });
    }
  }
  lineChart($("chart-soc"), socSeries, { yMin: 0, yMax: 100, unit: " %", empty: "no battery or EV" });
  const tbody = $("appliances").querySelector("tbody");
  tbody.innerHTML = "";
  for (const a of plan.appliances || []) {
    const row = tbody.insertRow();
    row.insertCell().textContent = a.name || nameOf(a.id);
    row.insertCell().textContent = a.planned_start ? dayTime(Date.parse(a.planned_start)) : "not planned";
    row.insertCell().textContent = a.planned_end ? hhmm(Date.parse(a.planned_end)) : "";
  }
  $("unmet").innerHTML = "";
  for (const g of plan.unmet_goals || []) {
    const li = document.createElement("li"); li.textContent = g.message; $("unmet").appendChild(li);
  }
}

const SPANS_DAYS = { "15min": 1, hour: 2, day: 30, week: 120, month: 365 };
const BUCKET_WORDS = { "15min": "quarter hour", hour: "hour", day: "day", week: "week", month: "month" };

async function loadConsumption() {
  const granularity = $("granularity").value;
  const end = new Date();
  const start = new Date(end.getTime() - SPANS_DAYS[granularity] * 86400e3);
  const q = new URLSearchParams({ start: start.toISOString(), end: end.toISOString(), granularity });
  const canvas = $("chart-consumption");
  try {
    const data = await api("consumption?" + q);
    const bars = data.series.map((p) => ({ start: Date.parse(p.start), end: Date.parse(p.end), value: p.energy_kwh }));
    barChart(canvas, bars, start.getTime(), end.getTime(), {
      label: `kWh per ${BUCKET_WORDS[granularity]}`, color: COLORS.consumption, unit: "",
      empty: "no consumption measured in this period yet",
    });
  } catch (err) {
    if (err instanceof NeedsToken) throw err;
    noData(canvas, `consumption not available: ${err.message}`);
  }
}

async function loadForecastVsActual(plan) {
  const now = new Date();  // the home's midnight: back from now by the time of day shown in its zone
  const [hours, minutes] = new Intl.DateTimeFormat("en-GB", inZone({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" }))
    .format(now).split(":").map(Number);
  const midnight = new Date(now.getTime() - (hours * 60 + minutes) * 60e3); midnight.setSeconds(0, 0);
  const q = new URLSearchParams({ start: midnight.toISOString(), end: new Date().toISOString(), granularity: "hour" });
  let actual = [];
  try {
    const data = await api("consumption?" + q);
    actual = data.series.map((p) => [Date.parse(p.start), p.energy_kwh * 1000]);
    $("energy-today").textContent = fmt(data.total_kwh);
  } catch (err) { if (err instanceof NeedsToken) throw err; }
  const tomorrow = midnight.getTime() + 86400e3;
  const forecast = (plan ? plan.steps : []).filter((s) => Date.parse(s.start) < tomorrow)
    .map((s) => [Date.parse(s.start), s.load_w]);
  lineChart($("chart-forecast"), [
    { label: "measured (W, hourly mean)", color: COLORS.actual, points: actual },
    { label: "forecast (W)", color: COLORS.forecast, points: forecast },
  ]);
}

async function loadRecommendations() {
  try {
    const data = await api("recommendations");
    $("recommendations").innerHTML = "";
    for (const r of data.recommendations) {
      const li = document.createElement("li");
      li.innerHTML = "<strong></strong> — <span></span>";
      li.querySelector("strong").textContent = r.title; li.querySelector("span").textContent = r.detail;
      $("recommendations").appendChild(li);
    }
  } catch (err) { if (err instanceof NeedsToken) throw err; }
}

function renderStatus(status) {
  $("status").textContent = status.last_error ? `failed: ${status.last_error}` : `optimizer ${status.optimizer}`;
  const problems = status.problems || [];
  $("problems").hidden = !problems.length;
  $("problem-list").innerHTML = "";
  for (const p of problems) {
    const li = document.createElement("li"); li.textContent = p.message; $("problem-list").appendChild(li);
  }
}

function askForToken(message) {
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("status").textContent = "API token needed";
  document.body.dataset.needsToken = "true";
  document.body.dataset.loaded = "true";
}

async function refresh() {
  let plan = null;
  try {
    renderStatus(await api("status"));
    const site = await api("site").catch((err) => { if (err instanceof NeedsToken) throw err; return {}; });
    timeZone = (site && site.timezone) || undefined;
    names = {};
    for (const kind of ["batteries", "evs", "appliances", "thermal_loads"]) {
      for (const asset of (site && site[kind]) || []) names[asset.id] = asset.name;
    }
    try { plan = await api("plan"); renderPlan(plan); }
    catch (err) {
      if (err instanceof NeedsToken) throw err;
      renderNotes(err.message);
      for (const id of ["chart-power", "chart-price", "chart-soc"]) noData($(id), "no plan yet");
    }
    await Promise.all([loadConsumption(), loadForecastVsActual(plan), loadRecommendations()]);
  } catch (err) {
    if (err instanceof NeedsToken) return askForToken(storedToken() ? "The stored token is no longer accepted." : "");
    $("status").textContent = "unreachable";
  }
  $("login").hidden = true;
  delete document.body.dataset.needsToken;
  document.body.dataset.loaded = "true";
}

// The token is shown only through Home Assistant's panel (the API refuses it elsewhere): ask for it when
// the page needed no token of its own, or runs under the ingress path.
async function showToken() {
  $("forget-token").hidden = !storedToken();
  const panel = window.location.pathname.includes("/hassio_ingress/");
  if (document.body.dataset.needsToken || (storedToken() && !panel)) return;
  try {
    const body = await api("auth/token");  // answers only through Home Assistant's panel
    $("token").textContent = body.token;
    $("copy-token").hidden = false;
  } catch (err) { /* outside the panel the token is not shown */ }
}

async function copyToken() {
  const text = $("token").textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch (err) {  // no clipboard API (plain http): select the text and copy it the old way
    const range = document.createRange(); range.selectNodeContents($("token"));
    const selection = window.getSelection(); selection.removeAllRanges(); selection.addRange(range);
    document.execCommand("copy");
  }
  $("copy-done").textContent = "copied";
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = $("token-input").value.trim();
  try {
    await api("status", {}, token);
  } catch (err) {
    $("login-error").textContent = err instanceof NeedsToken ? "This token is not accepted." : err.message;
    return;
  }
  try { localStorage.setItem(TOKEN_KEY, token); } catch (err) { /* private mode: asked again next time */ }
  $("token-input").value = "";
  await refresh();
  await showToken();
});
$("forget-token").addEventListener("click", () => {
  try { localStorage.removeItem(TOKEN_KEY); } catch (err) { /* nothing kept */ }
  window.location.reload();
});
$("granularity").addEventListener("change", () => loadConsumption().catch(() => askForToken("")));
$("optimize").addEventListener("click", async () => {
  $("status").textContent = "optimizing…";
  try { renderPlan(await api("optimize", { method: "POST" })); $("status").textContent = "optimizer idle"; }
  catch (err) { if (err instanceof NeedsToken) askForToken(""); else $("status").textContent = err.message; }
});
$("copy-token").addEventListener("click", copyToken);
$("rotate").addEventListener("click", async () => {
  if (!confirm("Replace the API token? Clients using the old one must be updated.")) return;
  const body = await api("auth/token/rotate", { method: "POST" });
  if (storedToken()) { try { localStorage.setItem(TOKEN_KEY, body.token); } catch (err) { /* none */ } }
  $("token").textContent = body.token;
});
refresh().then(showToken);
setInterval(refresh, 60000);
