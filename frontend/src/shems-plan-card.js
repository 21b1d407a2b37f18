// shems-plan-card: the next hours of one SHEMS home in a Home Assistant dashboard. Served by the
// integration from its own folder and loaded by every dashboard; no file is copied by hand.
import { LitElement, css, html, nothing, unsafeCSS } from "lit";
import uPlotCss from "uplot/dist/uPlot.min.css";
import { buildSeries, colorOf, makeChart, themeColors } from "./chart.js";
import "./editor.js";
import { language, translate } from "./i18n.js";
import "./strategy.js";

const REFRESH_MS = 5 * 60 * 1000; // measurements arrive in 5-minute statistics
const TICK_MS = 60 * 1000; // the "now" line moves
const POWER_HEIGHT = 240;
const SOC_HEIGHT = 120;

let syncCounter = 0;

class ShemsPlanCard extends LitElement {
  static properties = {
    hass: { attribute: false },
    _config: { state: true },
    _view: { state: true },
    _error: { state: true },
    _hidden: { state: true },
  };

  static getConfigElement() {
    return document.createElement("shems-plan-card-editor");
  }

  static getStubConfig() {
    return { hours: 48, hours_past: 6 };
  }

  constructor() {
    super();
    this._charts = [];
    this._hidden = new Set();
    this._syncKey = `shems-plan-${++syncCounter}`;
    this._watched = undefined;
    this._dark = undefined;
  }

  setConfig(config) {
    if (!config || typeof config !== "object") throw new Error("Invalid configuration");
    const hours = Number(config.hours ?? 48);
    const past = Number(config.hours_past ?? 6);
    if (!(hours >= 1 && hours <= 168)) throw new Error("hours: between 1 and 168");
    if (!(past >= 0 && past <= 168)) throw new Error("hours_past: between 0 and 168");
    const changed = JSON.stringify(config) !== JSON.stringify(this._config);
    this._config = { ...config, hours, hours_past: past };
    if (changed && this.hass) this._load();
  }

  // The drawn uPlot charts (the power and price chart first), for tests and the curious.
  get charts() {
    return [...this._charts];
  }

  getCardSize() {
    return 7;
  }

  getGridOptions() {
    return { columns: "full", min_columns: 6, min_rows: 6 };
  }

  t(key, values) {
    return translate(this.hass, key, values);
  }

  connectedCallback() {
    super.connectedCallback();
    this._refresh = setInterval(() => this._load(), REFRESH_MS);
    this._tick = setInterval(() => this._advance(), TICK_MS);
    if (this.hass && this._config) this._load();
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    clearInterval(this._refresh);
    clearInterval(this._tick);
    this._resize?.disconnect();
    this._resize = undefined;
    this._destroyCharts();
  }

  willUpdate(changed) {
    if (!changed.has("hass") || !this.hass || !this._config) return;
    const watched = this._view?.watch ? this.hass.states[this._view.watch]?.state : undefined;
    const dark = Boolean(this.hass.themes?.darkMode);
    if (!this._view && !this._loading) {
      this._load();
    } else if (watched !== this._watched) {
      this._watched = watched;
      this._load();
    } else if (dark !== this._dark) {
      this._dark = dark;
      this._chartsStale = true;
    }
  }

  async _load() {
    if (!this.hass || !this._config || this._loading) return;
    this._loading = true;
    const message = { type: "shems/card", hours: this._config.hours, hours_past: this._config.hours_past };
    if (this._config.entry_id) message.entry_id = this._config.entry_id;
    try {
      const view = await this.hass.callWS(message);
      this._watched = view.watch ? this.hass.states[view.watch]?.state : undefined;
      this._dark = Boolean(this.hass.themes?.darkMode);
      this._error = undefined;
      this._view = view;
      this._chartsStale = true;
    } catch (err) {
      this._error = err?.message || String(err);
    } finally {
      this._loading = false;
    }
  }

  _advance() {
    if (!this._view) return;
    // Slide the window with the clock; the plan itself is fetched again when it changes.
    const shift = Date.now() / 1000 - this._view.now;
    this._view = {
      ...this._view,
      now: this._view.now + shift,
      start: this._view.start + shift,
      end: this._view.end + shift,
    };
    this._chartsStale = true;
  }

  _timeZone() {
    const zone = this.hass?.locale?.time_zone;
    if (zone === "local" || zone === "browser") return undefined;
    return this.hass?.config?.time_zone;
  }

  _formatter() {
    const lang = language(this.hass);
    const timeZone = this._timeZone();
    // The user's own choice of 12 or 24 hours (Home Assistant's profile), else the language's.
    const setting = this.hass?.locale?.time_format;
    const cycle = setting === "24" ? { hourCycle: "h23" } : setting === "12" ? { hour12: true } : {};
    const time = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", timeZone, ...cycle });
    const hour = new Intl.DateTimeFormat(lang, { hour: "numeric", timeZone, ...cycle });
    const weekday = new Intl.DateTimeFormat(lang, { weekday: "short", timeZone });
    const dayTime = new Intl.DateTimeFormat(lang, {
      weekday: "short", hour: "2-digit", minute: "2-digit", timeZone, ...cycle,
    });
    const hourOf = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone });
    const kw = new Intl.NumberFormat(lang, { maximumFractionDigits: 2 });
    const pct = new Intl.NumberFormat(lang, { maximumFractionDigits: 0 });
    const price = new Intl.NumberFormat(lang, { maximumFractionDigits: 3, minimumFractionDigits: 2 });
    const currency = this._view?.currency || "";
    return {
      time: (seconds) => time.format(new Date(seconds * 1000)),
      dayTime: (seconds) => dayTime.format(new Date(seconds * 1000)),
      value: (entry, value, tick = false) => {
        if (entry.axis === "time" || entry.axis === "tick") {
          const date = new Date(value * 1000);
          if (entry.axis === "time") return dayTime.format(date);
          // Ticks: the day's name at midnight, else the hour.
          return hourOf.format(date) === "00:00" ? weekday.format(date) : hour.format(date);
        }
        if (entry.axis === "soc") return tick ? pct.format(value) : `${pct.format(value)} %`;
        if (entry.axis === "price") return tick ? price.format(value) : `${price.format(value)} ${currency}/kWh`;
        return tick ? kw.format(value) : `${kw.format(value)} kW`;
      },
    };
  }

  render() {
    if (!this._config) return nothing;
    const title = this._config.title ?? this.t("title");
    return html`<ha-card>
      <div class="header">
        <span class="title">${title}</span>
        ${this._view?.plan ? html`<span class="status">${this._statusLine()}</span>` : nothing}
      </div>
      <div class="content">${this._body()}</div>
    </ha-card>`;
  }

  _statusLine() {
    const plan = this._view.plan;
    const parts = [];
    if (plan.created_at) parts.push(this.t("plan_made", { time: this._formatter().time(Date.parse(plan.created_at) / 1000) }));
    const status = this.t(`status_${plan.status}`);
    if (status !== `status_${plan.status}`) parts.push(status);
    return parts.join(" · ");
  }

  _body() {
    if (this._error) return html`<div class="notice error">${this.t("error", { error: this._error })}</div>`;
    if (!this._view) return html`<div class="notice">${this.t("loading")}</div>`;
    if (!this._view.entry_id) return html`<div class="notice">${this.t("no_entry")}</div>`;
    const plan = this._view.plan;
    const { series } = this._series();
    const format = this._formatter();
    return html`
      ${plan?.goals?.length
        ? html`<div class="goals" role="alert">
            <div class="goals-title">${this.t("goals")}</div>
            <ul>${plan.goals.map((goal) => html`<li>${goal}</li>`)}</ul>
          </div>`
        : nothing}
      ${plan ? nothing : html`<div class="notice">${this.t("no_plan")}</div>`}
      <div class="legend">
        ${this._groups(series).map(
          (group) => html`<button
            class="chip ${this._hidden.has(group.key) ? "off" : ""}"
            @click=${() => this._toggle(group.key)}
            aria-pressed=${this._hidden.has(group.key) ? "false" : "true"}
          >${group.styles.map(
            (planned) => html`<span class="swatch ${planned ? "" : "dashed"}" style="--c:${group.color}"></span>`,
          )}${group.label}</button>`,
        )}
        <span class="key"><span class="swatch" style="--c:var(--secondary-text-color)"></span>${this.t("planned")}
          <span class="swatch dashed" style="--c:var(--secondary-text-color)"></span>${this.t("measured")}</span>
      </div>
      <div class="charts">
        <div class="chart" id="power"></div>
        <div class="chart" id="soc"></div>
        <div class="tooltip" id="tooltip" hidden></div>
      </div>
      <div class="runs">
        <div class="runs-title">${this.t("runs")}</div>
        ${plan?.appliances?.length
          ? html`<ul>
              ${plan.appliances.map(
                (run) => html`<li><span class="swatch" style="--c:${colorOf(this, "appliance")}"></span>
                  <span class="run-name">${run.name}</span>
                  <span class="run-time">${format.dayTime(run.start)} – ${format.time(run.end)}</span></li>`,
              )}
            </ul>`
          : html`<div class="muted">${this.t("no_runs")}</div>`}
      </div>
    `;
  }

  _series() {
    if (this._seriesFor !== this._view) {
      this._seriesFor = this._view;
      this._built = buildSeries(this._view, (key, values) => this.t(key, values));
    }
    return this._built;
  }

  _groups(series) {
    const groups = new Map();
    for (const entry of series) {
      if (!groups.has(entry.group)) {
        groups.set(entry.group, { key: entry.group, label: entry.groupLabel, color: this._color(entry), styles: [] });
      }
      const group = groups.get(entry.group);
      if (!group.styles.includes(entry.planned)) group.styles.push(entry.planned);
    }
    return [...groups.values()];
  }

  _color(entry) {
    return colorOf(this, entry.kind);
  }

  _toggle(key) {
    const hidden = new Set(this._hidden);
    if (hidden.has(key)) hidden.delete(key);
    else hidden.add(key);
    this._hidden = hidden;
    this._chartsStale = true;
  }

  updated() {
    if (this._chartsStale && this._view?.entry_id) {
      this._chartsStale = false;
      this._drawCharts();
    }
  }

  _destroyCharts() {
    this._charts.forEach((chart) => chart.destroy());
    this._charts = [];
  }

  _drawCharts() {
    this._destroyCharts();
    const root = this.renderRoot;
    const power = root.querySelector("#power");
    const soc = root.querySelector("#soc");
    const tooltip = root.querySelector("#tooltip");
    if (!power || !soc || !tooltip) return;
    const { xs, series } = this._series();
    const colors = themeColors(this);
    const format = this._formatter();
    const visible = series
      .filter((entry) => !this._hidden.has(entry.group))
      .map((entry) => ({ ...entry, color: this._color(entry) }));
    const width = Math.max(200, power.clientWidth || this.clientWidth || 300);
    const common = {
      width, xs, view: this._view, t: (key) => this.t(key), format: format.value, tooltip, colors,
      timeZone: this._timeZone(),
      bands: { runs: this._view.plan?.appliances || [], color: colorOf(this, "appliance"), syncKey: this._syncKey },
    };
    const powerEntries = visible.filter((entry) => entry.axis !== "soc");
    const priced = powerEntries.some((e) => e.axis === "price");
    this._charts.push(
      makeChart({
        ...common, target: power, height: POWER_HEIGHT, entries: powerEntries,
        axes: [["kw", 3, ""], ...(priced ? [["price", 1, ""]] : [])],
      }),
    );
    const socEntries = visible.filter((entry) => entry.axis === "soc");
    soc.hidden = !socEntries.length;
    if (socEntries.length) {
      this._charts.push(
        makeChart({ ...common, target: soc, height: SOC_HEIGHT, entries: socEntries,
          axes: [["soc", 3, " %"], ...(priced ? [["soc", 1, "", true]] : [])],
          bands: { ...common.bands, runs: [] } }),
      );
    }
    if (!this._resize) {
      this._resize = new ResizeObserver(() => {
        const next = Math.max(200, power.clientWidth);
        this._charts.forEach((chart) => {
          if (Math.abs(chart.width - next) > 1) chart.setSize({ width: next, height: chart.height });
        });
      });
      this._resize.observe(power);
    }
  }

  static styles = [
    unsafeCSS(uPlotCss),
    css`
      :host { display: block; }
      ha-card { height: 100%; overflow: hidden; }
      .header { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between;
        gap: 4px 12px; padding: 12px 16px 0; }
      .title { font-size: var(--ha-card-header-font-size, 1.25rem); color: var(--ha-card-header-color, var(--primary-text-color)); }
      .status, .muted { color: var(--secondary-text-color); font-size: 0.85rem; }
      .content { padding: 8px 16px 16px; color: var(--primary-text-color); }
      .notice { padding: 12px 0; color: var(--secondary-text-color); }
      .notice.error { color: var(--error-color, #db4437); }
      .goals { border-left: 4px solid var(--warning-color, #ffa600); background: rgba(255, 166, 0, 0.12);
        border-radius: 4px; padding: 8px 12px; margin-bottom: 8px; }
      .goals-title, .runs-title { font-weight: 500; margin-bottom: 4px; }
      .goals ul, .runs ul { margin: 0; padding: 0; list-style: none; }
      .goals li { margin: 2px 0; }
      .legend { display: flex; flex-wrap: wrap; gap: 4px 6px; margin: 4px 0 8px; }
      .chip { display: inline-flex; align-items: center; gap: 6px; border: 1px solid var(--divider-color);
        border-radius: 12px; padding: 2px 8px; background: none; color: var(--primary-text-color);
        font: inherit; font-size: 0.8rem; cursor: pointer; }
      .chip.off { opacity: 0.45; text-decoration: line-through; }
      .key { display: inline-flex; align-items: center; gap: 4px; font-size: 0.75rem; color: var(--secondary-text-color); margin-left: auto; }
      .swatch { display: inline-block; width: 12px; height: 3px; background: var(--c); flex: none; }
      .swatch.dashed { background: repeating-linear-gradient(90deg, var(--c) 0 4px, transparent 4px 6px); }
      .charts { position: relative; }
      .chart { width: 100%; }
      .chart[hidden] { display: none; }
      .tooltip { position: absolute; z-index: 2; pointer-events: none; min-width: 160px; max-width: 280px;
        padding: 6px 8px; border-radius: 6px; font-size: 0.8rem; line-height: 1.4;
        background: var(--card-background-color, #fff); color: var(--primary-text-color);
        border: 1px solid var(--divider-color); box-shadow: 0 2px 6px rgba(0, 0, 0, 0.2); }
      .tooltip[hidden] { display: none; }
      .tooltip .swatch { margin-right: 6px; vertical-align: middle; }
      .tip-time { font-weight: 500; margin-bottom: 2px; }
      .runs { margin-top: 8px; }
      .runs li { display: flex; align-items: center; gap: 8px; margin: 2px 0; }
      .runs .swatch { height: 10px; border-radius: 2px; }
      .run-time { color: var(--secondary-text-color); margin-left: auto; white-space: nowrap; }
      .u-legend { display: none; }
    `,
  ];
}

if (!customElements.get("shems-plan-card")) {
  customElements.define("shems-plan-card", ShemsPlanCard);
  window.customCards = window.customCards || [];
  window.customCards.push({
    type: "shems-plan-card",
    name: "SHEMS plan",
    description: translate(undefined, "description"),
    preview: true,
    documentationURL: "https://github.com/shems-project/shems#the-plan-card",
  });
}
