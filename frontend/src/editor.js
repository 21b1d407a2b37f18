// The card's visual editor: Home Assistant's own form, with its config-entry selector limited to SHEMS.
import { LitElement, html } from "lit";
import { translate } from "./i18n.js";

const SCHEMA = [
  { name: "entry_id", selector: { config_entry: { integration: "shems" } } },
  { name: "title", selector: { text: {} } },
  {
    type: "grid",
    name: "",
    schema: [
      { name: "hours", selector: { number: { min: 6, max: 168, step: 6, mode: "box" } } },
      { name: "hours_past", selector: { number: { min: 0, max: 48, step: 1, mode: "box" } } },
    ],
  },
];
const LABELS = { entry_id: "entry_id", title: "card_title", hours: "hours", hours_past: "hours_past" };

class ShemsPlanCardEditor extends LitElement {
  static properties = { hass: { attribute: false }, _config: { state: true } };

  setConfig(config) {
    this._config = config;
  }

  render() {
    if (!this.hass || !this._config) return html``;
    return html`<ha-form
      .hass=${this.hass}
      .data=${this._config}
      .schema=${SCHEMA}
      .computeLabel=${(field) => translate(this.hass, LABELS[field.name] || field.name)}
      @value-changed=${this._changed}
    ></ha-form>`;
  }

  _changed(event) {
    event.stopPropagation();
    const config = { ...event.detail.value };
    for (const key of Object.keys(config)) {
      if (config[key] === "" || config[key] === undefined) delete config[key];
    }
    this._config = config;
    this.dispatchEvent(new CustomEvent("config-changed", { detail: { config }, bubbles: true, composed: true }));
  }
}

if (!customElements.get("shems-plan-card-editor")) {
  customElements.define("shems-plan-card-editor", ShemsPlanCardEditor);
}
