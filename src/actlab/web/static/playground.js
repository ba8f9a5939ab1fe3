// actlab playground: a thin client. Every number shown comes from the server's session; the
// menus come from /api/menus (generated from the catalogs). Nothing is loaded from the network.
"use strict";

const NEG = [245, 147, 34], MID = [232, 234, 235], POS = [8, 119, 189];
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

function decode(b64) {
  const s = atob(b64), out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function paint(canvas, b64, size, discretize) {
  const q = decode(b64), ctx = canvas.getContext("2d");
  const img = ctx.createImageData(size, size);
  for (let i = 0; i < q.length; i++) {
    let v = q[i];
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
  for (const id of ["noise", "train_ratio", "batch_size"]) {
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
  const view = new URLSearchParams(location.hash.slice(1));
  $("show_test").checked = view.get("test") === "1";
  $("discretize").checked = view.get("discretize") === "1";
}

function saveView() {
  const hash = `test=${$("show_test").checked ? 1 : 0}&discretize=${$("discretize").checked ? 1 : 0}`;
  history.replaceState(null, "", location.search + "#" + hash);
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
  fillSelect("loss", state.menus.losses[c.problem]);
  for (const id of ["activation", "optimizer", "init", "regularization", "problem", "loss",
    "learning_rate", "reg_rate", "n_points", "noise", "train_ratio", "batch_size"]) {
    $(id).value = c[id];
  }
  for (const id of ["noise", "train_ratio", "batch_size"]) $(id + "_text").textContent = c[id];
  $("seed").textContent = c.seed;
  for (const b of $("datasets").children) b.classList.toggle("selected", b.dataset.name === c.dataset);
  const n = c.hidden.length;
  $("layer_count").textContent = `${n} hidden layer${n === 1 ? "" : "s"}`;
  if (!first || !$("status").dataset.error) status("");
  buildNetwork();
}

// ---- network picture ----------------------------------------------------------------------

function node(col, html, cls) {
  const div = document.createElement("div");
  div.className = "node " + (cls || "");
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 50;
  div.appendChild(canvas);
  if (html) div.insertAdjacentHTML("afterbegin", html);
  col.appendChild(div);
  return { div, canvas };
}

function buildNetwork() {
  const c = state.config, net = $("net"), L = state.menus.limits;
  for (const el of [...net.querySelectorAll(".col")]) el.remove();
  const columns = [];
  const feats = document.createElement("div");
  feats.className = "col features";
  feats.innerHTML = "<h3>Features</h3>";
  const featureNodes = [];
  for (const f of state.menus.features) {
    const on = c.features.includes(f);
    const n = node(feats, `<span class="fname">${f.replace("_", " ")}</span>`, on ? "on" : "off");
    n.div.dataset.feature = f;
    n.div.onclick = () => {
      const next = on ? c.features.filter((x) => x !== f) : c.features.concat([f]);
      if (next.length) change({ features: next });
    };
    if (on) featureNodes.push(n);
  }
  net.appendChild(feats);
  columns.push(featureNodes);
  c.hidden.forEach((width, l) => {
    const col = document.createElement("div");
    col.className = "col hidden-layer";
    col.innerHTML = `<div class="layer-ctl"><button class="plus">+</button>` +
      `<button class="minus">&minus;</button>` +
      `<button class="view" title="ConvNetJS view: the data in this layer's space">&#x2922;</button></div>` +
      `<h3 class="layer-name" title="Show f, f' and the pre-activations of this layer">` +
      `${width} neuron${width > 1 ? "s" : ""}</h3>`;
    col.querySelector(".layer-name").onclick = () => send({ type: "anatomy", layer: l });
    col.querySelector(".view").onclick = () => {
      const units = width > 1 ? [0, 1] : [0, 0];
      send({ type: "transform", layer: l, units });
    };
    col.querySelector(".plus").onclick = () => changeHidden((h) => { h[l] = Math.min(L.max_neurons, h[l] + 1); });
    col.querySelector(".minus").onclick = () => changeHidden((h) => { h[l] = Math.max(1, h[l] - 1); });
    const nodes = [];
    for (let u = 0; u < width; u++) nodes.push(biasNode(col, l, u));
    net.appendChild(col);
    columns.push(nodes);
  });
  const out = document.createElement("div");
  out.className = "col out";
  out.innerHTML = "<h3>Output</h3>";
  columns.push([biasNode(out, c.hidden.length, 0)]);
  net.appendChild(out);
  state.canvases = columns;
  state.links = null;
  if (state.frame) showFrame(state.frame, true);
}

function biasNode(col, layer, unit) {
  const n = node(col, "", "unit");
  n.div.onclick = (e) => {
    const b = state.frame && state.frame.weights[layer] ? state.frame.weights[layer].b[unit] : 0;
    openEditor(e, { layer, unit, source: "bias", value: b });
  };
  return n;
}

function center(el, side) {
  const box = el.getBoundingClientRect(), ref = $("net").getBoundingClientRect();
  return [side > 0 ? box.right - ref.left : box.left - ref.left, box.top - ref.top + box.height / 2];
}

function drawLinks(weights) {
  // Paths are built once per network shape (and on resize); frames only restyle them.
  const svg = $("links"), net = $("net"), cols = state.canvases;
  const shape = weights.map((l) => `${l.w.length}x${l.w[0] ? l.w[0].length : 0}`).join(",");
  if (state.linkShape !== shape || !state.links) {
    svg.setAttribute("width", net.scrollWidth);
    svg.setAttribute("height", net.scrollHeight);
    svg.innerHTML = "";
    state.links = [];
    weights.forEach((layer, l) => layer.w.forEach((row, unit) => row.forEach((_, src) => {
      const [x1, y1] = center(cols[l][src].div, 1), [x2, y2] = center(cols[l + 1][unit].div, -1);
      const mx = (x1 + x2) / 2, d = `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
      const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
      path.setAttribute("d", d);
      path.setAttribute("class", "link");
      const hit = path.cloneNode();
      hit.setAttribute("class", "hit");
      hit.setAttribute("stroke-width", 8);
      const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
      hit.appendChild(title);
      Object.assign(hit.dataset, { layer: l, unit, source: src });
      hit.onclick = (e) => openEditor(e, hit.dataset);
      svg.appendChild(path);
      svg.appendChild(hit);
      state.links.push({ path, hit, title, l, unit, src });
    })));
    state.linkShape = shape;
  }
  for (const k of state.links) {
    const w = weights[k.l].w[k.unit][k.src];
    k.path.setAttribute("stroke", colour(Math.max(-1, Math.min(1, w))));
    k.path.setAttribute("stroke-width", Math.min(8, 0.5 + 2 * Math.abs(w)).toFixed(2));
    k.hit.dataset.value = w;
    k.title.textContent = `weight ${w.toFixed(3)} (layer ${k.l}, ${k.src} -> ${k.unit}); click to edit`;
  }
}

function openEditor(event, where) {
  const edit = $("weight_edit"), box = $("network").getBoundingClientRect();
  edit.hidden = false;
  edit.style.left = `${event.clientX - box.left}px`;
  edit.style.top = `${event.clientY - box.top}px`;
  edit.value = Number(where.value).toFixed(3);
  const source = where.source === "bias" ? null : +where.source;
  edit.dataset.target = JSON.stringify([+where.layer, +where.unit, source]);
  edit.title = source === null ? "bias of this unit" : "weight of this link";
  edit.focus();
  edit.select();
}

function editWeight(event) {
  const edit = $("weight_edit");
  if (event.key === "Escape") edit.hidden = true;
  if (event.key !== "Enter") return;
  const [layer, unit, source] = JSON.parse(edit.dataset.target);
  send({ type: "set_weight", layer, unit, source, value: Number(edit.value) });
  edit.hidden = true;
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
  if (f.diverged) status("Training diverged (a gradient was not finite): reset or lower the rate.", true);
  const last = state.history[state.history.length - 1];
  if (!last || last[0] !== f.epoch) state.history.push([f.epoch, f.train_loss, f.test_loss]);
  if (state.history.length > 2000) state.history.splice(0, state.history.length - 2000);
  const cols = state.canvases;
  if (cols && cols.length === f.neurons.length + 2 && cols[0].length === f.features.length) {
    f.features.forEach((b, i) => paint(cols[0][i].canvas, b, f.thumb));
    f.neurons.forEach((layer, l) => layer.forEach((b, u) => {
      if (cols[l + 1][u]) paint(cols[l + 1][u].canvas, b, f.thumb);
    }));
    paint(cols[cols.length - 1][0].canvas, f.output, f.grid);
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
  paint(off, f.output, f.grid, $("discretize").checked);
  const ctx = canvas.getContext("2d"), W = canvas.width, E = state.menus.limits.extent;
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, 0, 0, W, W);
  const p = state.points, regression = state.config.problem === "regression";
  const draw = (xs, ys, test) => xs.forEach((x, i) => {
    const y = Array.isArray(ys[i]) ? ys[i][0] : ys[i];
    ctx.beginPath();
    ctx.arc((x[0] + E) / (2 * E) * W, (E - x[1]) / (2 * E) * W, 3, 0, 2 * Math.PI);
    ctx.fillStyle = colour(regression ? y : 2 * y - 1);
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

function drawLegend() {
  const canvas = $("legend"), ctx = canvas.getContext("2d");
  for (let x = 0; x < canvas.width; x++) {
    ctx.fillStyle = colour((x / (canvas.width - 1)) * 2 - 1);
    ctx.fillRect(x, 0, 1, canvas.height);
  }
}

async function main() {
  state.menus = await (await fetch("/api/menus")).json();
  setupControls(state.menus);
  drawLegend();
  connect();
  window.addEventListener("resize", () => {
    state.links = null;
    if (state.frame) drawLinks(state.frame.weights);
  });
}

window.playground = state; // for tests and the curious: the page's state, read-only by convention
main();
