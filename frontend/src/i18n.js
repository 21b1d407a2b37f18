// The card's own words, in the languages the integration speaks; English where a language is missing.
const WORDS = {
  en: {
    title: "Energy plan",
    energy: "Energy",
    grid: "Grid",
    pv: "Solar",
    load: "Home",
    battery: "Battery",
    ev: "Car",
    thermal: "Heating",
    price: "Price",
    planned: "planned",
    measured: "measured",
    power: "Power",
    soc: "Charge level",
    soc_of: "{name}: charge level",
    now: "now",
    runs: "Appliance runs",
    goals: "Goals at risk",
    no_runs: "No appliance runs planned.",
    no_entry: "Choose a SHEMS home in this card's settings.",
    no_plan: "No plan yet: SHEMS is still making one.",
    loading: "Loading the plan…",
    error: "The plan could not be loaded: {error}",
    plan_made: "Plan of {time}",
    entry_id: "SHEMS home",
    card_title: "Title",
    hours: "Hours ahead",
    hours_past: "Hours of measurements",
    status_optimal: "best plan found",
    status_feasible: "good plan found",
    status_infeasible: "no plan meets every goal",
    status_failed: "planning failed",
    description: "Prices, the plan for the battery, car and appliances, and what was measured.",
  },
  de: {
    title: "Energieplan",
    energy: "Energie",
    grid: "Netz",
    pv: "Solar",
    load: "Haus",
    battery: "Batterie",
    ev: "Auto",
    thermal: "Heizung",
    price: "Preis",
    planned: "geplant",
    measured: "gemessen",
    power: "Leistung",
    soc: "Ladestand",
    soc_of: "{name}: Ladestand",
    now: "jetzt",
    runs: "Gerätestarts",
    goals: "Gefährdete Ziele",
    no_runs: "Keine Gerätestarts geplant.",
    no_entry: "Wähle in den Einstellungen dieser Karte ein SHEMS-Zuhause.",
    no_plan: "Noch kein Plan: SHEMS erstellt ihn gerade.",
    loading: "Plan wird geladen…",
    error: "Der Plan konnte nicht geladen werden: {error}",
    plan_made: "Plan von {time}",
    entry_id: "SHEMS-Zuhause",
    card_title: "Titel",
    hours: "Stunden voraus",
    hours_past: "Stunden Messwerte",
    status_optimal: "bester Plan gefunden",
    status_feasible: "guter Plan gefunden",
    status_infeasible: "kein Plan erfüllt jedes Ziel",
    status_failed: "Planung fehlgeschlagen",
    description: "Preise, der Plan für Batterie, Auto und Geräte, und was gemessen wurde.",
  },
};

export function language(hass) {
  const lang = (hass && (hass.locale?.language || hass.language)) || "en";
  return lang.split("-")[0];
}

export function translate(hass, key, values = {}) {
  const words = WORDS[language(hass)] || WORDS.en;
  const text = words[key] ?? WORDS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}
