// The add-on's own page (optimizer/shems_optimizer/api/web/): status, the plan's costs and notes, its
// charts, consumption history and recommendations, drawn with the plan card's charting library. Every
// URL is relative (the page works at / and behind Home Assistant's ingress path prefix) and nothing is
// fetched from the internet. Through the ingress the add-on trusts the request; opened directly
// (http://HOST:8099/) the API answers 401 and the page asks for the API token once, keeping it in
// localStorage.
import uPlot from "uplot";
import uPlotCss from "uplot/dist/uPlot.min.css";
import { tooltipPlugin, withAlpha } from "./chart.js";

const TOKEN_KEY = "shems_api_token";

function storedToken() {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch (err) {
    return null;
  }
}

class NeedsToken extends Error {}

async function api(path, options = {}, token = storedToken()) {
  const headers = new Headers(options.headers || {});
  if (token) headers.set("Authorization", "Bearer " + token);
  const resp = await fetch("api/v1/" + path, { ...options, headers });
  if (resp.status === 401) throw new NeedsToken("the API token is missing or not valid");
  const body = resp.status === 204 ? null : await resp.json().catch(() => null);
  if (!resp.ok) throw new Error((body && body.error && (body.error.message || body.error)) || resp.statusText);
  return body;
}

const $ = (id) => document.getElementById(id);
const fmt = (value, digits = 2) => (value === null || value === undefined ? "–" : Number(value).toFixed(digits));

// Times are shown in the home's time zone (the site's), wherever the browser is.
let timeZone;
const inZone = (options) => (timeZone ? { ...options, timeZone } : options);
const stamp = (options) => (ms) => new Date(ms).toLocaleString([], inZone(options));
const hhmm = stamp({ hour: "2-digit", minute: "2-digit" });
const dayMonth = stamp({ day: "numeric", month: "short" });
const dayTime = stamp({ weekday: "short", hour: "2-digit", minute: "2-digit" });

const COLORS = {
  pv: "#f2a900", load: "#3b6ea8", import: "#c0392b", export: "#27ae60", price: "#6c3483",
  feedin: "#16a085", actual: "#34495e", forecast: "#e67e22", consumption: "#2e86c1",
  assets: ["#1f6f43", "#8e44ad", "#d35400", "#2c3e50", "#b7950b", "#c2185b"],
};
const KINDS = { batteries: "battery", evs: "ev", appliances: "appliance", thermal_loads: "thermal" };
let names = {}; // asset id → the name people gave it (from the site document)
let kinds = {}; // asset id → battery, ev, appliance or thermal
const nameOf = (id) => names[id] || "unnamed asset";

// The drawn charts by their element's id: for tests, and redrawn at the page's width.
const charts = {};
window.shemsCharts = charts;

function noData(id, text) {
  const box = $(id);
  if (charts[id]) charts[id].destroy();
  delete charts[id];
  box.replaceChildren();
  const p = document.createElement("p");
  p.className = "empty";
  p.textContent = text;
  box.append(p);
  box.dataset.rendered = "empty";
  delete box.dataset.bars;
}

const widthOf = (box) => Math.max(240, Math.floor(box.getBoundingClientRect().width));

// Tick labels for a time axis: the hour, and the weekday at midnight; dates beyond a few days.
const hourOf = stamp({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const weekday = stamp({ weekday: "short" });
function timeTicks(span) {
  const label = (ms) => (span > 3 * 86400 ? dayMonth(ms) : hourOf(ms) === "00:00" ? weekday(ms) : hhmm(ms));
  return (u, ticks) => ticks.map((s) => label(s * 1000));
}

// A dashed "now" line across the plot.
function nowLine(u) {
  const x = u.valToPos(Date.now() / 1000, "x", true);
  const { top, height, left, width } = u.bbox;
  if (x < left || x > left + width) return;
  const ctx = u.ctx;
  const dpr = uPlot.pxRatio;
  ctx.save();
  ctx.strokeStyle = "#1b1f23";
  ctx.lineWidth = dpr;
  ctx.setLineDash([4 * dpr, 3 * dpr]);
  ctx.beginPath();
  ctx.moveTo(x, top);
  ctx.lineTo(x, top + height);
  ctx.stroke();
  ctx.restore();
}

// Bars as wide as their period (`seconds`), whatever the gaps between them: a lone bar or one after
// missing hours would otherwise spread over the gap.
function bars(seconds) {
  return (u, ...rest) => {
    const x0 = u.scales.x.min;
    const width = u.valToPos(x0 + seconds, "x") - u.valToPos(x0, "x");
    return uPlot.paths.bars({ size: [0.85, Math.max(1, width * 0.85)], align: 0 })(u, ...rest);
  };
}

// The y axis as wide as its longest tick label, and its unit beside it; the plan's charts, one above the
// other, share one width, so that their times line up.
const axisSize = (u, values) => 24 + 7 * Math.max(2, ...(values || []).map((v) => String(v).length));
const PLAN_AXIS = 64;

// One chart in the element `id`: x in seconds, entries [{label, color, values, unit, digits, stepped,
// fill, bars (their period in seconds)}], y from `range` (or the data); a tooltip names every value at the pointer.
function draw(id, xs, entries, { unit, digits = 2, range, height = 220, span, sync = "plan", now = true }) {
  const shown = entries.filter((e) => e.values.some((v) => v !== null && Number.isFinite(v)));
  if (!shown.length) return false;
  const box = $(id);
  if (charts[id]) charts[id].destroy();
  box.replaceChildren();
  const tooltip = document.createElement("div");
  tooltip.className = "tooltip";
  tooltip.hidden = true;
  const format = (entry, value) =>
    entry.axis === "time" ? dayTime(value * 1000) : `${Number(value).toFixed(entry.digits ?? digits)} ${entry.unit || unit}`;
  const series = [
    {},
    ...shown.map((e) => ({
      label: e.label,
      stroke: e.color,
      width: 2,
      fill: e.bars ? e.color : e.fill ? withAlpha(e.color, 0.15) : undefined,
      spanGaps: !e.bars,
      points: { show: !e.bars && e.values.filter((v) => v !== null).length === 1 },
      paths: e.bars ? bars(e.bars) : e.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined,
    })),
  ];
  const full = span || [xs[0], xs[xs.length - 1]];
  const options = {
    width: widthOf(box),
    height,
    tzDate: timeZone ? (ts) => uPlot.tzDate(new Date(ts * 1e3), timeZone) : undefined,
    series,
    scales: { x: { time: true, range: () => full }, y: range ? { range } : {} },
    axes: [
      { space: 80, values: timeTicks(full[1] - full[0]), grid: { stroke: "#e4e8ea" } },
      { label: unit, labelSize: 20, size: sync === "plan" ? PLAN_AXIS : axisSize, grid: { stroke: "#e4e8ea" } },
    ],
    legend: { live: false },
    cursor: { sync: { key: sync }, points: { show: false }, drag: { x: true, y: false } },
    hooks: now ? { draw: [nowLine] } : {},
    plugins: [tooltipPlugin(tooltip, shown, format)],
  };
  const chart = new uPlot(options, [xs, ...shown.map((e) => e.values)], box);
  box.append(tooltip);
  charts[id] = chart;
  box.dataset.rendered = "true";
  return true;
}

// The plan's message is its notes joined by "; ": one list item each, starting with a capital.
function renderNotes(message) {
  const list = $("plan-notes");
  list.replaceChildren();
  for (const note of (message || "").split("; ").filter(Boolean)) {
    const li = document.createElement("li");
    li.textContent = note.charAt(0).toUpperCase() + note.slice(1);
    list.append(li);
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
  if (!steps.length) {
    for (const id of ["chart-power", "chart-price", "chart-soc"]) noData(id, "the plan has no steps");
  } else {
    // A step's value holds until its end: the last one is repeated at the plan's end.
    const xs = [...steps.map((s) => Date.parse(s.start) / 1000), Date.parse(steps[steps.length - 1].end) / 1000];
    const column = (pick) => {
      const values = steps.map((s) => {
        const v = pick(s);
        return v === null || v === undefined ? null : Number(v);
      });
      return [...values, values[values.length - 1]];
    };
    const kw = (pick) => column((s) => { const w = pick(s); return w === null || w === undefined ? null : w / 1000; });
    const ids = [...new Set(steps.flatMap((s) => Object.keys(s.assets || {})))];
    const color = (i) => COLORS.assets[i % COLORS.assets.length];
    const power = [
      { label: "Solar", color: COLORS.pv, values: kw((s) => s.pv_w), fill: true },
      { label: "Home use", color: COLORS.load, values: kw((s) => s.load_w) },
      { label: "From the grid", color: COLORS.import, values: kw((s) => s.grid_import_w) },
      { label: "To the grid", color: COLORS.export, values: kw((s) => s.grid_export_w) },
      ...ids.map((id, i) => ({
        label: kinds[id] === "battery" ? `${nameOf(id)} (+ out, − in)` : kinds[id] === "ev" ? `${nameOf(id)} charging` : nameOf(id),
        color: color(i),
        values: kw((s) => s.assets?.[id]?.power_w),
      })),
    ].map((e) => ({ ...e, stepped: true }));
    if (!draw("chart-power", xs, power, { unit: "kW", height: 260 })) noData("chart-power", "no power planned");
    const price = [
      { label: "Buying price", color: COLORS.price, values: column((s) => s.import_price), stepped: true },
      { label: "Selling price", color: COLORS.feedin, values: column((s) => s.export_price), stepped: true },
    ];
    if (!draw("chart-price", xs, price, { unit: `${currency}/kWh`, digits: 3, height: 170 })) noData("chart-price", "no prices");
    const soc = ids
      .map((id, i) => ({ label: `${nameOf(id)} charge level`, color: color(i), values: column((s) => s.assets?.[id]?.soc_pct), stepped: true, digits: 0 }))
      .filter((e) => e.values.some((v) => v !== null));
    if (!draw("chart-soc", xs, soc, { unit: "%", range: [0, 100], height: 180 })) noData("chart-soc", "no battery or car");
  }
  const tbody = $("appliances").querySelector("tbody");
  tbody.replaceChildren();
  for (const a of plan.appliances || []) {
    const row = tbody.insertRow();
    row.insertCell().textContent = a.name || nameOf(a.id);
    row.insertCell().textContent = a.planned_start ? dayTime(Date.parse(a.planned_start)) : "not planned";
    row.insertCell().textContent = a.planned_end ? hhmm(Date.parse(a.planned_end)) : "";
  }
  $("unmet").replaceChildren();
  for (const g of plan.unmet_goals || []) {
    const li = document.createElement("li");
    li.textContent = g.message;
    $("unmet").append(li);
  }
}

const SPANS_DAYS = { "15min": 1, hour: 2, day: 30, week: 120, month: 365 };
const BUCKET_S = { "15min": 900, hour: 3600, day: 86400, week: 7 * 86400, month: 30.4 * 86400 };
const BUCKET_WORDS = { "15min": "quarter hour", hour: "hour", day: "day", week: "week", month: "month" };

async function loadConsumption() {
  const granularity = $("granularity").value;
  const end = new Date();
  const start = new Date(end.getTime() - SPANS_DAYS[granularity] * 86400e3);
  const q = new URLSearchParams({ start: start.toISOString(), end: end.toISOString(), granularity });
  try {
    const data = await api("consumption?" + q);
    // A bar stands over the middle of its period, as wide as the period.
    const points = data.series.filter((p) => p.energy_kwh !== null && Number.isFinite(p.energy_kwh));
    const xs = points.map((p) => Date.parse(p.start) / 1000 + BUCKET_S[granularity] / 2);
    const entries = [{ label: `Energy used per ${BUCKET_WORDS[granularity]}`, color: COLORS.consumption,
      values: points.map((p) => p.energy_kwh), bars: BUCKET_S[granularity] }];
    const small = Math.max(0, ...entries[0].values) < 1;
    const span = [start.getTime() / 1000, end.getTime() / 1000];
    const drawn = points.length > 0 &&
      draw("chart-consumption", xs, entries, { unit: "kWh", digits: small ? 3 : 2, span, sync: "consumption", now: false });
    if (drawn) Object.assign($("chart-consumption").dataset, { bars: String(points.length), bucket: String(BUCKET_S[granularity]) });
    else noData("chart-consumption", "no consumption measured in this period yet");
    $("consumption-total").textContent = data.total_kwh === null || data.total_kwh === undefined
      ? "" : `${fmt(data.total_kwh, small ? 3 : 2)} kWh in all`;
  } catch (err) {
    if (err instanceof NeedsToken) throw err;
    noData("chart-consumption", `consumption not available: ${err.message}`);
  }
}

async function loadForecastVsActual(plan) {
  const now = new Date(); // the home's midnight: back from now by the time of day shown in its zone
  const [hours, minutes] = new Intl.DateTimeFormat("en-GB", inZone({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" }))
    .format(now).split(":").map(Number);
  const midnight = new Date(now.getTime() - (hours * 60 + minutes) * 60e3);
  midnight.setSeconds(0, 0);
  const q = new URLSearchParams({ start: midnight.toISOString(), end: now.toISOString(), granularity: "hour" });
  let actual = [];
  try {
    const data = await api("consumption?" + q);
    actual = data.series.filter((p) => p.energy_kwh !== null).map((p) => [Date.parse(p.start) / 1000 + 1800, p.energy_kwh]);
    $("energy-today").textContent = fmt(data.total_kwh);
  } catch (err) {
    if (err instanceof NeedsToken) throw err;
  }
  const tomorrow = midnight.getTime() + 86400e3;
  const forecast = (plan ? plan.steps : []).filter((s) => Date.parse(s.start) < tomorrow)
    .map((s) => [(Date.parse(s.start) + Date.parse(s.end)) / 2000, s.load_w / 1000]);
  const xs = [...new Set([...actual, ...forecast].map(([x]) => x))].sort((a, b) => a - b);
  const align = (points) => {
    const at = new Map(points);
    return xs.map((x) => (at.has(x) ? at.get(x) : null));
  };
  const entries = [
    { label: "Measured (hourly mean)", color: COLORS.actual, values: align(actual) },
    { label: "Forecast", color: COLORS.forecast, values: align(forecast) },
  ];
  const span = [midnight.getTime() / 1000, tomorrow / 1000];
  if (!xs.length || !draw("chart-forecast", xs, entries, { unit: "kW", span, sync: "today" })) {
    noData("chart-forecast", "no forecast or measurement today yet");
  }
}

async function loadRecommendations() {
  try {
    const data = await api("recommendations");
    $("recommendations").replaceChildren();
    for (const r of data.recommendations) {
      const li = document.createElement("li");
      const title = document.createElement("strong");
      title.textContent = r.title;
      li.append(title, ` — ${r.detail}`);
      $("recommendations").append(li);
    }
  } catch (err) {
    if (err instanceof NeedsToken) throw err;
  }
}

function renderStatus(status) {
  $("status").textContent = status.last_error ? `failed: ${status.last_error}` : `optimizer ${status.optimizer}`;
  const problems = status.problems || [];
  $("problems").hidden = !problems.length;
  $("problem-list").replaceChildren();
  for (const p of problems) {
    const li = document.createElement("li");
    li.textContent = p.message;
    $("problem-list").append(li);
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
    const site = await api("site").catch((err) => {
      if (err instanceof NeedsToken) throw err;
      return {};
    });
    timeZone = (site && site.timezone) || undefined;
    names = {};
    kinds = {};
    for (const [key, kind] of Object.entries(KINDS)) {
      for (const asset of (site && site[key]) || []) {
        names[asset.id] = asset.name;
        kinds[asset.id] = kind;
      }
    }
    try {
      plan = await api("plan");
      renderPlan(plan);
    } catch (err) {
      if (err instanceof NeedsToken) throw err;
      renderNotes(err.message);
      for (const id of ["chart-power", "chart-price", "chart-soc"]) noData(id, "no plan yet");
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
    const body = await api("auth/token"); // answers only through Home Assistant's panel
    $("token").textContent = body.token;
    $("copy-token").hidden = false;
  } catch (err) {
    /* outside the panel the token is not shown */
  }
}

async function copyToken() {
  const text = $("token").textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch (err) {
    // no clipboard API (plain http): select the text and copy it the old way
    const range = document.createRange();
    range.selectNodeContents($("token"));
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    document.execCommand("copy");
  }
  $("copy-done").textContent = "copied";
}

const style = document.createElement("style");
style.textContent = uPlotCss;
document.head.append(style);

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = $("token-input").value.trim();
  try {
    await api("status", {}, token);
  } catch (err) {
    $("login-error").textContent = err instanceof NeedsToken ? "This token is not accepted." : err.message;
    return;
  }
  try {
    localStorage.setItem(TOKEN_KEY, token);
  } catch (err) {
    /* private mode: asked again next time */
  }
  $("token-input").value = "";
  await refresh();
  await showToken();
});
$("forget-token").addEventListener("click", () => {
  try {
    localStorage.removeItem(TOKEN_KEY);
  } catch (err) {
    /* nothing kept */
  }
  window.location.reload();
});
$("granularity").addEventListener("change", () => loadConsumption().catch(() => askForToken("")));
$("optimize").addEventListener("click", async () => {
  $("status").textContent = "optimizing…";
  try {
    renderPlan(await api("optimize", { method: "POST" }));
    $("status").textContent = "optimizer idle";
  } catch (err) {
    if (err instanceof NeedsToken) askForToken("");
    else $("status").textContent = err.message;
  }
});
$("copy-token").addEventListener("click", copyToken);
$("rotate").addEventListener("click", async () => {
  if (!confirm("Replace the API token? Clients using the old one must be updated.")) return;
  const body = await api("auth/token/rotate", { method: "POST" });
  if (storedToken()) {
    try {
      localStorage.setItem(TOKEN_KEY, body.token);
    } catch (err) {
      /* none */
    }
  }
  $("token").textContent = body.token;
});
// The charts follow the page's width (a phone turned, a window resized).
new ResizeObserver(() => {
  for (const [id, chart] of Object.entries(charts)) {
    const width = widthOf($(id));
    if (Math.abs(width - chart.width) > 1) chart.setSize({ width, height: chart.height });
  }
}).observe(document.querySelector("main"));
refresh().then(showToken);
setInterval(refresh, 60000);
