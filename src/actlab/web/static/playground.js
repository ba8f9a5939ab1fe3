// actlab playground: a thin client. Every number shown comes from the server's session; the
// menus come from /api/menus (generated from the catalogs). Nothing is loaded from the network.
"use strict";

const NEG = [245, 147, 34], MID = [232, 234, 235], POS = [8, 119, 189];
// One hue per class (class 0 and 1 are the two-class colours): orange, blue, green, purple,
// red, olive.
const CLASSES = [NEG, POS, [44, 160, 44], [148, 103, 189], [214, 39, 40], [188, 189, 34]];
const LUT = colourTable();
const $ = (id) => document.getElementById(id);
const state = {
  menus: null, config: null, points: null, frame: null, socket: null,
  playing: false, waiting: false, history: [], canvases: null,
};

function colourTable() {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = i / 127.5 - 1, a = Math.abs(t), end = t < 0 ? NEG : POS;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = MID[c] + (end[c] - MID[c]) * a;
  }
  return lut;
}

function colour(v) {
  const i = Math.max(0, Math.min(255, Math.round((v + 1) * 127.5))) * 3;
  return `rgb(${LUT[i]},${LUT[i + 1]},${LUT[i + 2]})`;
}

function classColour(c) {
  const [r, g, b] = CLASSES[c % CLASSES.length];
  return `rgb(${r},${g},${b})`;
}

function pointColour(y) {
  // Classification labels are class indices; regression targets are values in about [-1, 1].
  return state.config.problem === "regression" ? colour(y) : classColour(y);
}

function decode(b64) {
  const s = atob(b64), out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function paint(canvas, b64, size, discretize, classes64, hue) {
  // Two classes or regression: the diverging orange-blue scale. More classes: the most probable
  // class's hue, its intensity growing with that class's probability (chance: grey). With
  // `hue` (one class's probability): that class's hue, from grey at p = 0 to full at p = 1.
  const q = decode(b64), ctx = canvas.getContext("2d");
  const img = ctx.createImageData(size, size);
  const classes = classes64 ? decode(classes64) : null;
  const chance = classes ? 1 / state.config.n_classes : 0;
  for (let i = 0; i < q.length; i++) {
    let v = q[i];
    if (classes || hue !== undefined) {
      const p = v / 255, t = discretize ? 1 : Math.max(0, (p - chance) / (1 - chance));
      const end = CLASSES[(classes ? classes[i] : hue) % CLASSES.length];
      for (let c = 0; c < 3; c++) img.data[i * 4 + c] = MID[c] + (end[c] - MID[c]) * t;
      img.data[i * 4 + 3] = 255;
      continue;
    }
    if (discretize) v = v >= 128 ? 255 : 0;
    img.data[i * 4] = LUT[v * 3];
    img.data[i * 4 + 1] = LUT[v * 3 + 1];
    img.data[i * 4 + 2] = LUT[v * 3 + 2];
    img.data[i * 4 + 3] = 255;
  }
  if (canvas.width !== size) { canvas.width = size; canvas.height = size; }
  ctx.putImageData(img, 0, 0);
}

// ---- socket -------------------------------------------------------------------------------

function send(message) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify(message));
  }
}

function connect() {
  const socket = new WebSocket(`ws://${location.host}/ws`);
  state.socket = socket;
  socket.onopen = () => send({ type: "config", query: location.search.replace(/^\?/, "") });
  socket.onmessage = (event) => receive(JSON.parse(event.data));
  socket.onclose = () => { setPlaying(false); status("Disconnected from the server.", true); };
}

function receive(msg) {
  if (msg.type === "error") {
    status(msg.message, true);
    state.waiting = false;
    if (!state.config) send({ type: "config", config: {} });
    return;
  }
  if (msg.type === "config") return showConfig(msg);
  if (msg.type === "frame") return showFrame(msg);
  if (msg.type === "network") return download(msg.network);
  if (msg.type === "race") return showRace(msg);
  if (msg.type === "anatomy") return showAnatomy(msg);
  if (msg.type === "transform") return showTransform(msg);
  if (msg.type === "curve") return showCurve(msg);
}

function status(text, error) {
  const el = $("status");
  el.textContent = text || "";
  el.className = error ? "error" : "";
  el.dataset.error = error ? text : "";
}

// ---- controls -----------------------------------------------------------------------------

function fillSelect(id, entries) {
  const el = $(id);
  el.innerHTML = "";
  for (const e of entries) {
    const name = typeof e === "string" ? e : e.name;
    const opt = new Option(name.replace(/_/g, " "), name);
    if (e.summary) opt.title = e.summary;
    el.add(opt);
  }
}

function setupControls(menus) {
  const L = menus.limits;
  fillSelect("activation", menus.activations);
  fillSelect("optimizer", menus.optimizers);
  fillSelect("init", menus.initializers);
  fillSelect("regularization", menus.regularizations);
  fillSelect("problem", menus.problems);
  Object.assign($("learning_rate"), { max: L.max_lr });
  Object.assign($("reg_rate"), { max: L.max_reg_rate });
  Object.assign($("noise"), { min: 0, max: L.max_noise });
  Object.assign($("train_ratio"), { min: L.min_train_ratio, max: L.max_train_ratio });
  Object.assign($("n_points"), { min: L.min_points, max: L.max_points });
  const box = $("datasets");
  for (const d of menus.datasets) {
    const b = document.createElement("button");
    b.textContent = d.name.replace(/_/g, " ");
    b.title = d.summary;
    b.dataset.name = d.name;
    b.className = d.task;
    b.onclick = () => change({ dataset: d.name });
    box.appendChild(b);
  }
  for (const id of ["activation", "optimizer", "init", "regularization", "loss"]) {
    $(id).onchange = () => change({ [id]: $(id).value });
  }
  $("problem").onchange = () => {
    const first = menus.datasets.find((d) => d.task === $("problem").value);
    change({ problem: $("problem").value, dataset: first.name });
  };
  for (const id of ["learning_rate", "reg_rate", "n_points"]) {
    $(id).onchange = () => change({ [id]: Number($(id).value) });
  }
  Object.assign($("n_classes"), { min: menus.n_classes[0], max: menus.n_classes[1] });
  for (const id of ["noise", "train_ratio", "batch_size", "n_classes"]) {
    $(id).oninput = () => { $(id + "_text").textContent = $(id).value; };
    $(id).onchange = () => change({ [id]: Number($(id).value) });
  }
  $("play").onclick = () => setPlaying(!state.playing);
  $("step").onclick = () => { setPlaying(false); send({ type: "step", epochs: 1 }); };
  $("reset").onclick = () => { setPlaying(false); state.history = []; send({ type: "reset" }); };
  $("regenerate").onclick = () => { state.history = []; send({ type: "regenerate" }); };
  $("add_layer").onclick = () => changeHidden((h) => h.length < L.max_layers && h.push(4));
  $("remove_layer").onclick = () => changeHidden((h) => h.pop());
  $("show_test").onchange = () => { saveView(); drawOutput(); };
  $("discretize").onchange = () => { saveView(); drawOutput(); };
  $("export").onclick = () => send({ type: "export" });
  $("load").onchange = loadFile;
  $("weight_edit").onkeydown = editWeight;
  $("weight_edit").onblur = () => { $("weight_edit").hidden = true; };
  setupRace(menus);
  readLink();
}

function change(fields) {
  state.history = [];
  send({ type: "config", config: fields });
}

function changeHidden(edit) {
  const hidden = state.config.hidden.slice();
  edit(hidden);
  change({ hidden });
}

function setPlaying(on) {
  state.playing = on;
  $("play").innerHTML = on ? "&#x275A;&#x275A;" : "&#x25B6;";
  $("play").classList.toggle("playing", on);
  if (on && !state.waiting) requestStep();
}

function requestStep() {
  state.waiting = true;
  send({ type: "step", epochs: 1 });
}

function showConfig(msg) {
  const c = msg.config, first = !state.config;
  showRace(null);
  showAnatomy(null);
  showTransform(null);
  state.config = c;
  state.points = msg.points;
  history.replaceState(null, "", "?" + msg.query + location.hash);
  const multiclass = state.menus.datasets.find((d) => d.name === c.dataset).multiclass;
  fillSelect("loss", state.menus.losses[multiclass ? "multiclass" : c.problem]);
  for (const id of ["activation", "optimizer", "init", "regularization", "problem", "loss",
    "learning_rate", "reg_rate", "n_points", "noise", "train_ratio", "batch_size", "n_classes"]) {
    $(id).value = c[id];
  }
  for (const id of ["noise", "train_ratio", "batch_size", "n_classes"]) {
    $(id + "_text").textContent = c[id];
  }
  $("n_classes_box").hidden = !multiclass;
  drawLegend(c.problem === "regression" ? 0 : multiclass ? c.n_classes : 2);
  $("seed").textContent = c.seed;
  for (const b of $("datasets").children) b.classList.toggle("selected", b.dataset.name === c.dataset);
  const n = c.hidden.length;
  $("layer_count").textContent = `${n} hidden layer${n === 1 ? "" : "s"}`;
  if (!first || !$("status").dataset.error) status("");
  buildNetwork();
  if (first) startFromLink();
}

// ---- frames -------------------------------------------------------------------------------

function showFrame(f, redraw) {
  state.frame = f;
  state.waiting = false;
  // While playing, the server trains the next epoch while this one is drawn.
  if (state.playing && !redraw) requestStep();
  $("epoch").textContent = String(f.epoch).padStart(6, "0");
  const fmt = (v) => (v === null ? "NaN" : v.toFixed(3));
  $("train_loss").textContent = fmt(f.train_loss);
  $("test_loss").textContent = fmt(f.test_loss);
  const pct = (v) => (v === null ? "-" : `${(100 * v).toFixed(1)}%`);
  $("accuracy").hidden = f.train_accuracy === null;
  $("test_accuracy").textContent = pct(f.test_accuracy);
  $("train_accuracy").textContent = pct(f.train_accuracy);
  if (f.diverged) status("Training diverged (a gradient was not finite): reset or lower the rate.", true);
  const last = state.history[state.history.length - 1];
  if (!last || last[0] !== f.epoch) state.history.push([f.epoch, f.train_loss, f.test_loss]);
  if (state.history.length > 2000) state.history.splice(0, state.history.length - 2000);
  const cols = state.canvases, outputs = f.weights[f.weights.length - 1].b.length;
  if (cols && cols.length === f.neurons.length + 2 && cols[cols.length - 1].length !== outputs) {
    buildNetwork(); // the output layer changed width (a softmax over another number of classes)
    return;
  }
  if (cols && cols.length === f.neurons.length + 2 && cols[0].length === f.features.length) {
    f.features.forEach((b, i) => paint(cols[0][i].canvas, b, f.thumb));
    f.neurons.forEach((layer, l) => layer.forEach((b, u) => {
      if (cols[l + 1][u]) paint(cols[l + 1][u].canvas, b, f.thumb);
    }));
    const outs = cols[cols.length - 1];
    if (f.outputs) f.outputs.forEach((b, c) => outs[c] && paint(outs[c].canvas, b, f.thumb, false, null, c));
    else paint(outs[0].canvas, f.output, f.grid);
    drawLinks(f.weights);
  }
  drawOutput();
  drawChart();
  drawHealth(f.health);
}

function drawOutput() {
  const f = state.frame, canvas = $("heatmap");
  if (!f) return;
  const off = document.createElement("canvas");
  paint(off, f.output, f.grid, $("discretize").checked, f.classes);
  const ctx = canvas.getContext("2d"), W = canvas.width, E = state.menus.limits.extent;
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, 0, 0, W, W);
  const p = state.points;
  const draw = (xs, ys, test) => xs.forEach((x, i) => {
    const y = Array.isArray(ys[i]) ? ys[i][0] : ys[i];
    ctx.beginPath();
    ctx.arc((x[0] + E) / (2 * E) * W, (E - x[1]) / (2 * E) * W, 3, 0, 2 * Math.PI);
    ctx.fillStyle = pointColour(y);
    ctx.fill();
    ctx.lineWidth = test ? 1.5 : 1;
    ctx.strokeStyle = test ? "#000" : "#fff";
    ctx.stroke();
  });
  draw(p.x_train, p.y_train, false);
  if ($("show_test").checked) draw(p.x_test, p.y_test, true);
}

function drawChart() {
  const canvas = $("chart"), ctx = canvas.getContext("2d"), h = state.history;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const finite = h.flatMap((r) => [r[1], r[2]]).filter((v) => v !== null && isFinite(v));
  if (h.length < 2 || !finite.length) return;
  const top = Math.max(...finite) || 1;
  for (const [k, style] of [[2, "#000"], [1, "#999"]]) {
    ctx.beginPath();
    h.forEach((r, i) => {
      const x = (i / (h.length - 1)) * canvas.width, v = r[k] === null ? top : r[k];
      const y = canvas.height - (v / top) * (canvas.height - 2) - 1;
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    ctx.strokeStyle = style;
    ctx.stroke();
  }
}

function drawLegend(classes) {
  // Regression: the -1..1 scale; two classes: the same scale from class 0 to class 1; more
  // classes: one swatch per class, class 0 on the left.
  const canvas = $("legend"), ctx = canvas.getContext("2d"), W = canvas.width;
  $("legend_low").textContent = classes ? "class 0" : "-1";
  $("legend_high").textContent = classes ? `class ${classes - 1}` : "1";
  for (let x = 0; x < W; x++) {
    ctx.fillStyle = classes > 2 ? classColour(Math.floor((x / W) * classes)) : colour((x / (W - 1)) * 2 - 1);
    ctx.fillRect(x, 0, 1, canvas.height);
  }
}

async function main() {
  state.menus = await (await fetch("/api/menus")).json();
  setupControls(state.menus);
  connect();
  window.addEventListener("resize", () => {
    state.links = null;
    if (state.frame) drawLinks(state.frame.weights);
  });
}

window.playground = state; // for tests and the curious: the page's state, read-only by convention
main();
