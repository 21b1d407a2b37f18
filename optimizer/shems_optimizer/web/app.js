// SHEMS ingress UI: reads the add-on's API with relative URLs (works behind any ingress path prefix)
// and draws its charts on plain canvases, so nothing is fetched from the internet.
"use strict";

const api = (path, options) =>
  fetch("api/v1/" + path, options).then(async (resp) => {
    const body = resp.status === 204 ? null : await resp.json();
    if (!resp.ok) throw new Error((body && body.error) || resp.statusText);
    return body;
  });

const $ = (id) => document.getElementById(id);
const fmt = (value, digits = 2) => (value === null || value === undefined ? "–" : Number(value).toFixed(digits));
const hhmm = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
const COLORS = { pv: "#f2a900", load: "#3b6ea8", import: "#c0392b", export: "#27ae60", price: "#6c3483",
                 soc: "#1f6f43", ev: "#8e44ad", actual: "#34495e", forecast: "#e67e22" };

// Draw line series [{label, color, points: [[x, y], ...]}] with x in ms; marks the canvas as rendered.
function lineChart(canvas, series, { unit = "", yMin = null, yMax = null, bars = false } = {}) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, left = 56, right = 10, top = 22, bottom = 26;
  ctx.clearRect(0, 0, w, h);
  const all = series.flatMap((s) => s.points).filter((p) => p[1] !== null && Number.isFinite(p[1]));
  if (!all.length) {
    ctx.fillStyle = "#5f6b76"; ctx.font = "14px sans-serif"; ctx.fillText("no data yet", left, h / 2);
    canvas.dataset.rendered = "empty";
    return;
  }
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs) || x0 + 1;
  const lo = yMin ?? Math.min(0, ...ys), hi = yMax ?? Math.max(...ys, lo + 1e-9);
  const X = (x) => left + ((x - x0) / (x1 - x0 || 1)) * (w - left - right);
  const Y = (y) => top + (1 - (y - lo) / (hi - lo || 1)) * (h - top - bottom);
  ctx.strokeStyle = "#d5dbde"; ctx.fillStyle = "#5f6b76"; ctx.font = "11px sans-serif"; ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = lo + ((hi - lo) * i) / 4;
    ctx.beginPath(); ctx.moveTo(left, Y(y)); ctx.lineTo(w - right, Y(y)); ctx.stroke();
    ctx.fillText(`${fmt(y, Math.abs(hi - lo) < 2 ? 2 : 0)}${unit}`, 2, Y(y) + 4);
  }
  for (let i = 0; i <= 6; i++) {
    const x = x0 + ((x1 - x0) * i) / 6;
    ctx.fillText(hhmm(new Date(x).toISOString()), X(x) - 14, h - 8);
  }
  let legendX = left;
  for (const s of series) {
    ctx.strokeStyle = s.color; ctx.fillStyle = s.color; ctx.lineWidth = 2;
    if (bars) {
      const bw = Math.max(2, (w - left - right) / Math.max(1, s.points.length) - 2);
      for (const [x, y] of s.points) if (y !== null) ctx.fillRect(X(x), Y(Math.max(y, 0)), bw, Math.abs(Y(y) - Y(0)));
    } else {
      ctx.beginPath();
      let pen = false;
      for (const [x, y] of s.points) {
        if (y === null || !Number.isFinite(y)) { pen = false; continue; }
        if (pen) ctx.lineTo(X(x), Y(y)); else { ctx.moveTo(X(x), Y(y)); pen = true; }
      }
      ctx.stroke();
    }
    ctx.fillRect(legendX, 6, 10, 10); ctx.fillStyle = "#1b1f23"; ctx.fillText(s.label, legendX + 14, 15);
    legendX += 24 + ctx.measureText(s.label).width;
  }
  canvas.dataset.rendered = "true";
}

function renderPlan(plan) {
  const currency = plan.currency || "EUR";
  document.querySelectorAll(".currency").forEach((el) => (el.textContent = currency));
  $("cost-24h").textContent = fmt(plan.cost_next_24h);
  $("plan-savings").textContent = fmt(plan.savings);
  $("plan-time").textContent = new Date(plan.created_at).toLocaleString();
  $("plan-message").textContent = plan.message || "";
  const steps = plan.steps || [];
  const t = (s) => Date.parse(s.start);
  lineChart($("chart-power"), [
    { label: "PV (W)", color: COLORS.pv, points: steps.map((s) => [t(s), s.pv_w]) },
    { label: "load (W)", color: COLORS.load, points: steps.map((s) => [t(s), s.load_w]) },
    { label: "grid import (W)", color: COLORS.import, points: steps.map((s) => [t(s), s.grid_import_w]) },
    { label: "grid export (W)", color: COLORS.export, points: steps.map((s) => [t(s), s.grid_export_w]) },
  ], { unit: "" });
  lineChart($("chart-price"), [
    { label: `import price (${currency}/kWh)`, color: COLORS.price, points: steps.map((s) => [t(s), s.import_price]) },
  ]);
  const socSeries = [];
  const ids = new Set(steps.flatMap((s) => Object.keys(s.assets || {})));
  for (const id of ids) {
    if (steps.some((s) => s.assets[id] && s.assets[id].soc_pct !== undefined)) {
      socSeries.push({ label: `${id} SOC (%)`, color: socSeries.length ? COLORS.ev : COLORS.soc,
                       points: steps.map((s) => [t(s), s.assets[id] ? s.assets[id].soc_pct : null]) });
    }
  }
  lineChart($("chart-soc"), socSeries, { yMin: 0, yMax: 100, unit: "%" });
  const tbody = $("appliances").querySelector("tbody");
  tbody.innerHTML = "";
  for (const a of plan.appliances || []) {
    const row = tbody.insertRow();
    row.insertCell().textContent = a.id;
    row.insertCell().textContent = a.planned_start ? new Date(a.planned_start).toLocaleString() : "not planned";
    row.insertCell().textContent = a.planned_end ? hhmm(a.planned_end) : "";
  }
  $("unmet").innerHTML = "";
  for (const g of plan.unmet_goals || []) {
    const li = document.createElement("li"); li.textContent = g.message; $("unmet").appendChild(li);
  }
}

async function loadConsumption() {
  const granularity = $("granularity").value;
  const spans = { "15min": 1, hour: 2, day: 30, week: 120, month: 365 };
  const end = new Date();
  const start = new Date(end.getTime() - spans[granularity] * 86400e3);
  const q = new URLSearchParams({ start: start.toISOString(), end: end.toISOString(), granularity });
  try {
    const data = await api("consumption?" + q);
    lineChart($("chart-consumption"), [
      { label: `energy (kWh per ${granularity})`, color: COLORS.actual,
        points: data.series.map((p) => [Date.parse(p.start), p.energy_kwh]) },
    ], { bars: true });
  } catch (err) {
    lineChart($("chart-consumption"), []);
  }
}

async function loadForecastVsActual(plan) {
  const midnight = new Date(); midnight.setHours(0, 0, 0, 0);
  const q = new URLSearchParams({ start: midnight.toISOString(), end: new Date().toISOString(), granularity: "hour" });
  let actual = [];
  try {
    const data = await api("consumption?" + q);
    actual = data.series.map((p) => [Date.parse(p.start), p.energy_kwh * 1000]);
    $("energy-today").textContent = fmt(data.total_kwh);
  } catch (err) { /* no store data yet */ }
  const tomorrow = midnight.getTime() + 86400e3;
  const forecast = (plan ? plan.steps : []).filter((s) => Date.parse(s.start) < tomorrow)
    .map((s) => [Date.parse(s.start), s.load_w]);
  lineChart($("chart-forecast"), [
    { label: "actual (W, hourly mean)", color: COLORS.actual, points: actual },
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
  } catch (err) { /* shown as an empty list */ }
}

async function refresh() {
  let plan = null;
  try {
    const status = await api("status");
    $("status").textContent = status.last_error ? `failed: ${status.last_error}` : `optimizer ${status.optimizer}`;
  } catch (err) { $("status").textContent = "unreachable"; }
  try { plan = await api("plan"); renderPlan(plan); }
  catch (err) { $("plan-message").textContent = err.message; lineChart($("chart-power"), []);
                lineChart($("chart-price"), []); lineChart($("chart-soc"), []); }
  await Promise.all([loadConsumption(), loadForecastVsActual(plan), loadRecommendations()]);
  document.body.dataset.loaded = "true";
}

$("granularity").addEventListener("change", loadConsumption);
$("optimize").addEventListener("click", async () => {
  $("status").textContent = "optimizing…";
  try { renderPlan(await api("optimize", { method: "POST" })); } catch (err) { $("status").textContent = err.message; }
});
$("rotate").addEventListener("click", async () => {
  if (!confirm("Replace the API token? Clients using the old one must be updated.")) return;
  const body = await api("auth/token/rotate", { method: "POST" });
  $("token").textContent = body.token;
});
api("auth/token").then((b) => ($("token").textContent = b.token)).catch(() => {});
refresh();
setInterval(refresh, 60000);
