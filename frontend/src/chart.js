// From the integration's view of one home (see custom_components/shems/card.py) to uPlot's aligned
// columns and options: planned curves as steps, measured ones as lines, appliance runs as bands, a
// "now" line, and a tooltip that names every value at the pointer.
import uPlot from "uplot";

const COLORS = {
  grid: ["--energy-grid-consumption-color", "#488fc2"],
  pv: ["--energy-solar-color", "#ff9800"],
  load: ["--secondary-text-color", "#727272"],
  battery: ["--energy-battery-out-color", "#4db6ac"],
  ev: ["--energy-battery-in-color", "#f06292"],
  thermal: ["--error-color", "#db4437"],
  price: ["--shems-price-color", "#9c6ade"],
  appliance: ["--accent-color", "#ff9800"],
};

export function colorOf(element, kind) {
  const [variable, fallback] = COLORS[kind] || COLORS.load;
  const value = getComputedStyle(element).getPropertyValue(variable).trim();
  return value || fallback;
}

// The same colour, see-through: canvas normalises any CSS colour to #rrggbb or rgba().
export function withAlpha(color, alpha) {
  const ctx = document.createElement("canvas").getContext("2d");
  ctx.fillStyle = color;
  const normal = ctx.fillStyle;
  if (normal.startsWith("#")) {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(normal.slice(i, i + 2), 16));
    return `rgba(${r}, ${g}, ${b}, ${alpha})`;
  }
  return normal.replace(/rgba?\(([^,]+),([^,]+),([^,)]+)(,[^)]*)?\)/, `rgba($1,$2,$3, ${alpha})`);
}

export function themeColors(element) {
  const style = getComputedStyle(element);
  const read = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
  return {
    text: read("--primary-text-color", "#212121"),
    muted: read("--secondary-text-color", "#727272"),
    grid: read("--divider-color", "rgba(0,0,0,.12)"),
    background: read("--card-background-color", "#fff"),
  };
}

// Every series to draw: {key, label, kind, axis, planned, values (aligned to xs), stepped}.
export function buildSeries(view, t) {
  // t(key, values) translates.
  const plan = view.plan;
  const power = view.measured?.power || { time: [] };
  const times = new Set();
  const planTimes = plan ? [...plan.steps.time] : [];
  if (plan && plan.step_end && planTimes.length) planTimes.push(plan.step_end);
  planTimes.forEach((x) => times.add(x));
  power.time.forEach((x) => times.add(x));
  (view.measured?.soc || []).forEach((s) => s.points.forEach(([x]) => times.add(x)));
  times.add(view.now);
  const xs = [...times].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));

  const column = (stamps, values, scale, extendTo) => {
    const out = new Array(xs.length).fill(null);
    let last = null;
    stamps.forEach((x, i) => {
      const value = values[i];
      if (value !== null && value !== undefined) {
        out[at.get(x)] = value * scale;
        last = value * scale;
      }
    });
    if (extendTo !== undefined && last !== null && at.has(extendTo)) out[at.get(extendTo)] ??= last;
    return out;
  };
  const planned = (values, scale = 1) =>
    column(plan.steps.time, values, scale, plan.step_end ?? undefined);
  const series = [];
  // One legend chip per group (a quantity, planned and measured); the label says which one a line is.
  const add = (group, groupLabel, entry) => {
    if (!entry.values.some((v) => v !== null)) return;
    const how = entry.key === "price" ? "" : ` (${t(entry.planned ? "planned" : "measured")})`;
    series.push({ ...entry, group, groupLabel, label: `${groupLabel}${how}` });
  };
  const kw = 1 / 1000;
  const batteries = (plan?.assets || []).filter((asset) => asset.kind === "battery");
  if (plan) {
    add("price", t("price"), { key: "price", kind: "price", axis: "price", planned: true, stepped: true,
      values: planned(plan.steps.import_price) });
    for (const key of ["grid", "pv", "load"]) {
      add(key, t(key), { key, kind: key, axis: "kw", planned: true, stepped: true,
        values: planned(plan.steps[`${key}_w`], kw) });
    }
    plan.assets.forEach((asset, i) => {
      add(`power:${asset.name}`, asset.name, { key: `asset${i}`, kind: asset.kind, axis: "kw", planned: true,
        stepped: true, values: planned(asset.power_w, kw) });
      if (asset.soc_pct) {
        add(`soc:${asset.name}`, t("soc_of", { name: asset.name }), { key: `soc${i}`, kind: asset.kind,
          axis: "soc", planned: true, stepped: true, values: planned(asset.soc_pct) });
      }
    });
  }
  const measured = (values) => column(power.time, values, kw);
  for (const key of ["grid", "pv", "load"]) {
    add(key, t(key), { key: `${key}_m`, kind: key, axis: "kw", planned: false,
      values: measured(power[`${key}_w`] || []) });
  }
  const battery = batteries.length === 1 ? [`power:${batteries[0].name}`, batteries[0].name] : ["battery", t("battery")];
  add(...battery, { key: "battery_m", kind: "battery", axis: "kw", planned: false,
    values: measured(power.battery_w || []) });
  (view.measured?.soc || []).forEach((soc, i) => {
    const stamps = soc.points.map(([x]) => x);
    add(`soc:${soc.name}`, t("soc_of", { name: soc.name }), { key: `soc_m${i}`, kind: soc.kind, axis: "soc",
      planned: false, stepped: true, values: column(stamps, soc.points.map(([, v]) => v), 1, view.now) });
  });
  return { xs, series };
}

function drawBands(runs, now, nowLabel, colors, applianceColor) {
  return (u) => {
    const ctx = u.ctx;
    const { top, height, left, width } = u.bbox;
    const dpr = uPlot.pxRatio;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    const row = 16 * dpr;
    ctx.font = `${11 * dpr}px sans-serif`;
    ctx.textBaseline = "middle";
    runs.forEach((run, i) => {
      const x0 = u.valToPos(run.start, "x", true);
      const x1 = u.valToPos(run.end, "x", true);
      const y = top + (i % 3) * row;
      ctx.globalAlpha = 0.12;
      ctx.fillStyle = applianceColor;
      ctx.fillRect(x0, top, x1 - x0, height);
      ctx.globalAlpha = 0.85;
      ctx.fillRect(x0, y, x1 - x0, row - 2 * dpr);
      ctx.globalAlpha = 1;
      ctx.fillStyle = colors.background;
      ctx.fillText(run.name, x0 + 4 * dpr, y + row / 2 - dpr, Math.max(0, x1 - x0 - 8 * dpr));
    });
    const x = u.valToPos(now, "x", true);
    ctx.strokeStyle = colors.text;
    ctx.lineWidth = 1.5 * dpr;
    ctx.setLineDash([4 * dpr, 3 * dpr]);
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = colors.text;
    ctx.textBaseline = "bottom";
    ctx.fillText(nowLabel, x + 4 * dpr, top + height - 2 * dpr);
    ctx.restore();
  };
}

// The value shown for a series at index i: a step holds until the next one (30 min back at most).
export function valueAt(xs, values, i, stepped) {
  if (values[i] !== null && values[i] !== undefined) return values[i];
  const limit = xs[i] - (stepped ? 6 * 3600 : 600);
  for (let j = i - 1; j >= 0 && xs[j] >= limit; j--) {
    if (values[j] !== null && values[j] !== undefined) return values[j];
  }
  return null;
}

export function tooltipPlugin(tooltip, entries, format) {
  return {
    hooks: {
      setCursor: (u) => {
        const i = u.cursor.idx;
        if (i === null || i === undefined || u.cursor.left < 0) {
          tooltip.hidden = true;
          return;
        }
        const xs = u.data[0];
        const rows = [];
        entries.forEach((entry, n) => {
          if (!u.series[n + 1].show) return;
          const value = valueAt(xs, u.data[n + 1], i, entry.stepped);
          if (value === null) return;
          rows.push({ color: entry.color, label: entry.label, value: format(entry, value) });
        });
        if (!rows.length) {
          tooltip.hidden = true;
          return;
        }
        tooltip.replaceChildren();
        const head = document.createElement("div");
        head.className = "tip-time";
        head.textContent = format({ axis: "time" }, xs[i]);
        tooltip.append(head);
        rows.forEach((row) => {
          const line = document.createElement("div");
          const swatch = document.createElement("span");
          swatch.className = "swatch";
          swatch.style.background = row.color;
          line.append(swatch, `${row.label}: ${row.value}`);
          tooltip.append(line);
        });
        tooltip.hidden = false;
        const box = u.over.getBoundingClientRect();
        const frame = tooltip.parentElement.getBoundingClientRect();
        const width = tooltip.offsetWidth;
        const x = box.left - frame.left + u.cursor.left;
        const left = x + 12 + width > frame.width ? x - width - 12 : x + 12;
        tooltip.style.left = `${Math.max(0, left)}px`;
        tooltip.style.top = `${box.top - frame.top + 8}px`;
      },
    },
  };
}

// One uPlot chart for the series on the given axes; returns the chart.
export function makeChart({ target, width, height, xs, entries, axes, view, t, format, tooltip, colors,
  timeZone, bands }) {
  const data = [xs, ...entries.map((e) => e.values)];
  const series = [
    {},
    ...entries.map((entry) => ({
      label: entry.label,
      scale: entry.axis,
      stroke: entry.color,
      width: entry.planned ? 1.6 : 2.2,
      dash: entry.planned ? undefined : [5, 3],
      spanGaps: true,
      points: { show: false },
      fill: entry.kind === "pv" && entry.planned ? withAlpha(entry.color, 0.15) : undefined,
      paths: entry.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined,
    })),
  ];
  // A right-hand axis without labels keeps the plot areas of stacked charts aligned in time.
  const axis = (scale, side, unit, blank = false) => ({
    scale,
    side,
    stroke: colors.muted,
    grid: { show: side === 3, stroke: colors.grid, width: 1 },
    ticks: { show: !blank, stroke: colors.grid, width: 1 },
    size: 52,
    values: (u, ticks) => ticks.map((v) => (blank ? "" : `${format({ axis: scale }, v, true)}${unit}`)),
  });
  const axisList = [
    {
      stroke: colors.muted,
      space: 64,
      grid: { stroke: colors.grid, width: 1 },
      ticks: { stroke: colors.grid, width: 1 },
      values: (u, ticks) => ticks.map((v) => format({ axis: "tick" }, v)),
    },
    ...axes.map(([scale, side, unit, blank]) => axis(scale, side, unit, blank)),
  ];
  const scales = { x: { time: true, range: () => [view.start, view.end] } };
  axes.forEach(([scale]) => {
    scales[scale] = scale === "soc" ? { range: [0, 100] } : {};
  });
  const plugins = [tooltipPlugin(tooltip, entries, format)];
  const options = {
    width,
    height,
    tzDate: timeZone ? (ts) => uPlot.tzDate(new Date(ts * 1e3), timeZone) : undefined,
    series,
    axes: axisList,
    scales,
    legend: { show: false },
    cursor: { sync: { key: bands.syncKey }, points: { show: false }, drag: { x: false, y: false } },
    hooks: {
      draw: [drawBands(bands.runs, view.now, t("now"), colors, bands.color)],
    },
    plugins,
  };
  return new uPlot(options, data, target);
}
