// actlab playground, links: what the URL's fragment holds besides the session's configuration
// (which is the query string, owned by the server). A link such as
//   /?dataset=xor&hidden=4#test=1&discretize=0&race=optimizer:adam&race=learning_rate:0.3&hide=lr,race&play=1
// opens with test points shown, a race of the network against two variants, the learning-rate
// control and the race panel hidden (a classroom link), and training running.
// Loaded before playground.js; shares its global scope (state, $, send, status).
"use strict";

// Controls a classroom link may hide (#hide=name,...): each name, the elements it hides (the
// label around an input goes with it). "features" hides the switched-off features and locks the
// others; "layers" hides the + / - buttons of the network.
const HIDEABLE = {
  dataset: ["#datasets"],
  noise: ["#noise"],
  train_ratio: ["#train_ratio"],
  batch_size: ["#batch_size"],
  n_points: ["#n_points"],
  n_classes: ["#n_classes"],
  regenerate: ["#regenerate", "#data .seed"],
  features: ["#net .col.features .node.off"],
  layers: ["#add_layer", "#remove_layer", ".layer-ctl .plus", ".layer-ctl .minus"],
  learning_rate: ["#learning_rate"],
  activation: ["#activation"],
  optimizer: ["#optimizer"],
  init: ["#init"],
  regularization: ["#regularization"],
  reg_rate: ["#reg_rate"],
  problem: ["#problem"],
  loss: ["#loss"],
  show_test: ["#show_test"],
  discretize: ["#discretize"],
  race: ["#race"],
  health: ["#health"],
  io: [".io"],
  curve: ["#curve_open"],
};
const HIDE_ALIASES = { lr: "learning_rate", test: "show_test" };
const RACE_NAMES = ["activation", "optimizer", "regularization"]; // the other race fields are numbers

function readLink() {
  const view = new URLSearchParams(location.hash.slice(1));
  $("show_test").checked = view.get("test") === "1";
  $("discretize").checked = view.get("discretize") === "1";
  state.autoplay = view.get("play") === "1";
  state.pendingRace = view.getAll("race").map(parseVariant);
  if (!state.pendingRace.length) state.pendingRace = null;
  const wanted = (view.get("hide") || "").split(",").filter((n) => n);
  state.hide = [];
  const unknown = [];
  for (const name of wanted) {
    const key = HIDE_ALIASES[name] || name;
    if (HIDEABLE[key]) state.hide.push(key);
    else unknown.push(name);
  }
  if (unknown.length) {
    status(`hide: unknown control(s) ${unknown.join(", ")}; ` +
      `valid: ${Object.keys(HIDEABLE).join(", ")}`, true);
  }
  applyHidden();
}

function parseVariant(text) {
  // "optimizer:adam,learning_rate:0.3" -> {optimizer: "adam", learning_rate: 0.3}
  const variant = {};
  for (const pair of text.split(",").filter((p) => p)) {
    const [field, value] = pair.split(":");
    variant[field] = RACE_NAMES.includes(field) || value === undefined ? value : Number(value);
  }
  return variant;
}

function variantText(changes) {
  return Object.entries(changes).map(([k, v]) => `${k}:${v}`).join(",");
}

function saveView() {
  const parts = [`test=${$("show_test").checked ? 1 : 0}`, `discretize=${$("discretize").checked ? 1 : 0}`];
  const racers = state.race ? state.race.racers.slice(1).map((r) => r.changes) : state.pendingRace || [];
  for (const changes of racers) parts.push(`race=${variantText(changes)}`);
  if (state.hide && state.hide.length) parts.push(`hide=${state.hide.join(",")}`);
  if (state.autoplay) parts.push("play=1");
  const hash = "#" + parts.join("&");
  if (hash !== location.hash) history.replaceState(null, "", location.search + hash); // not per frame
}

function applyHidden() {
  for (const el of document.querySelectorAll(".classroom-hidden")) el.classList.remove("classroom-hidden");
  for (const name of state.hide || []) {
    for (const selector of HIDEABLE[name]) {
      for (const el of document.querySelectorAll(selector)) {
        (el.closest("label") || el).classList.add("classroom-hidden");
      }
    }
  }
}

function locked(name) {
  return !!state.hide && state.hide.includes(name);
}

function startFromLink() {
  // After the first configuration arrived: the race the link names, then play if asked.
  const race = state.pendingRace;
  state.pendingRace = null;
  if (race) {
    fillVariantRows(race);
    send({ type: "race", variants: race });
    state.waiting = true; // the race's frame asks for the first step when playing
  }
  if (state.autoplay) setPlaying(true);
}

function fillVariantRows(variants) {
  // The race panel shows one change per racer: fill the rows the link's variants allow.
  const rows = [...$("variants").children];
  rows.forEach((row, i) => {
    const [field, value, number] = row.querySelectorAll("select, input");
    const entries = Object.entries(variants[i] || {});
    field.value = entries.length === 1 ? entries[0][0] : "";
    field.onchange();
    if (entries.length === 1) (RACE_NAMES.includes(field.value) ? value : number).value = entries[0][1];
  });
}
