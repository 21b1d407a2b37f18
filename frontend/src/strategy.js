// The "SHEMS" dashboard as a dashboard strategy: a dashboard whose whole configuration is
//   strategy: {type: custom:shems}
// is made afresh from the home's SHEMS devices each time it opens (new assets appear by themselves):
// the plan card, the Energy dashboard's cards, and every SHEMS control and figure by device.
import { translate } from "./i18n.js";

const CONTROL_DOMAINS = ["button", "select", "switch", "number", "time"];
const ORDER = ["button", "select", "switch", "number", "time", "sensor", "binary_sensor"];

function deviceName(device) {
  return device?.name_by_user || device?.name || "";
}

// SHEMS entities by SHEMS home (config entry) and device, hidden and diagnostic ones left out.
export function shemsDevices(hass) {
  const homes = new Map();
  for (const entity of Object.values(hass.entities || {})) {
    if (entity.platform !== "shems" || entity.hidden || entity.entity_category === "diagnostic") continue;
    const device = hass.devices?.[entity.device_id];
    if (!device || !hass.states[entity.entity_id]) continue;
    const entryId = device.primary_config_entry || device.config_entries?.[0];
    if (!homes.has(entryId)) homes.set(entryId, new Map());
    const devices = homes.get(entryId);
    if (!devices.has(device.id)) devices.set(device.id, { device, entities: [] });
    devices.get(device.id).entities.push(entity.entity_id);
  }
  const rank = (entityId) => ORDER.indexOf(entityId.split(".")[0]);
  return [...homes.entries()].map(([entryId, devices]) => ({
    entryId,
    devices: [...devices.values()]
      .map(({ device, entities }) => ({
        device,
        entities: entities.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)),
      }))
      // The hub (no via device) first, then the grid and solar parts and the assets by name.
      .sort((a, b) => Boolean(a.device.via_device_id) - Boolean(b.device.via_device_id)
        || deviceName(a.device).localeCompare(deviceName(b.device))),
  }));
}

export function dashboardConfig(hass) {
  const t = (key) => translate(hass, key);
  const homes = shemsDevices(hass);
  const planCards = homes.length
    ? homes.map(({ entryId }) => ({ type: "custom:shems-plan-card", ...(homes.length > 1 ? { entry_id: entryId } : {}) }))
    : [{ type: "custom:shems-plan-card" }];
  const controls = homes.flatMap(({ devices }) =>
    devices.map(({ device, entities }) => ({
      type: "entities",
      title: deviceName(device),
      state_color: true,
      entities: entities.map((entity) => ({ entity })),
    })),
  );
  const hasControl = (card) => card.entities.some(({ entity }) => CONTROL_DOMAINS.includes(entity.split(".")[0]));
  return {
    title: "SHEMS",
    views: [
      {
        title: t("title"),
        path: "plan",
        icon: "mdi:chart-timeline-variant",
        type: "sections",
        max_columns: 3,
        sections: [
          {
            type: "grid",
            column_span: 3,
            cards: planCards.map((card) => ({ ...card, grid_options: { columns: "full" } })),
          },
          ...controls.filter(hasControl).map((card) => ({ type: "grid", cards: [card] })),
          ...controls.filter((card) => !hasControl(card)).map((card) => ({ type: "grid", cards: [card] })),
        ],
      },
      {
        title: t("energy"),
        path: "energy",
        icon: "mdi:lightning-bolt",
        cards: [
          { type: "energy-date-selection" },
          { type: "energy-usage-graph" },
          { type: "energy-distribution", link_dashboard: true },
          { type: "energy-sources-table" },
        ],
      },
    ],
  };
}

class ShemsDashboardStrategy extends HTMLElement {
  static async generate(_config, hass) {
    return dashboardConfig(hass);
  }
}

if (!customElements.get("ll-strategy-dashboard-shems")) {
  customElements.define("ll-strategy-dashboard-shems", ShemsDashboardStrategy);
}
