// actlab playground, the network picture: features, units and links, with weight editing.
// Loaded before playground.js; both are classic scripts sharing one global scope, so these
// functions use its state, $, send, paint and colour when they run (after both have loaded).
"use strict";

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
      if (locked("features")) return;
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
  // One node per output unit: one for a sigmoid or regression output, one per class for softmax.
  const last = state.frame && state.frame.weights[c.hidden.length];
  const units = last ? last.b.length : 1;
  const outs = [];
  for (let u = 0; u < units; u++) {
    const n = biasNode(out, c.hidden.length, u);
    if (units > 1) n.div.title = `class ${u}: its probability; click to edit its bias`;
    outs.push(n);
  }
  columns.push(outs);
  net.appendChild(out);
  state.canvases = columns;
  state.links = null;
  applyHidden();
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
