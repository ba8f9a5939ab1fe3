// actlab playground, side panels: health, race, anatomy, ConvNetJS view, export/load.
// Loaded before playground.js; both are classic scripts sharing one global scope, so these
// functions use its state, $, send, paint and colour when they run (after both have loaded).
"use strict";

// ---- health -------------------------------------------------------------------------------
function drawHealth(health) {
  const cols = state.canvases;
  (health.units || []).forEach((layer, l) => layer.dead.forEach((dead, u) => {
    const n = cols && cols[l + 1] && cols[l + 1][u];
    if (!n) return;
    n.div.classList.toggle("dead", dead);
    n.div.classList.toggle("inactive", !dead && layer.inactive[u] === true);
    const sat = layer.saturation[u];
    n.div.title = (dead ? "dead: zero on every training point. " : "") +
      (layer.inactive[u] ? "inactive: |f'| <= 10% of its peak everywhere. " : "") +
      (sat === null ? "" : `saturated on ${(100 * sat).toFixed(0)}% of training points`);
  }));
  const layers = Object.entries(health.layers || {});
  const norms = layers.map(([, m]) => m.grad_norm).filter((v) => v > 0);
  const lo = Math.log10(Math.min(...norms, 1e-6)), hi = Math.log10(Math.max(...norms, 1e-6));
  const pct = (v) => (v === undefined || v === null ? "" : `${(100 * v).toFixed(0)}%`);
  const num = (v) => (v === undefined || v === null ? "-" : v.toPrecision(2));
  const rows = layers.map(([name, m]) => {
    const g = m.grad_norm, w = g > 0 && hi > lo ? 8 + 62 * (Math.log10(g) - lo) / (hi - lo) : 40;
    return `<tr><td>${name}</td><td class="bar"><span data-w="${w.toFixed(0)}"></span>` +
      `<em>${num(g)}</em></td><td>${pct(m.dead_fraction)}</td><td>${pct(m.saturation_fraction)}</td>` +
      `<td>${pct(m.inactive_fraction)}</td>${effectiveLr(m)}<td>${num(m.update_ratio)}</td></tr>`;
  });
  $("health_table").innerHTML = "<tr><th>layer</th><th>gradient norm (log scale)</th><th>dead</th>" +
    "<th>saturated</th><th>inactive</th><th>effective lr</th><th>update ratio</th></tr>" + rows.join("");
  // The page's policy forbids inline style attributes; the CSS object model is allowed.
  for (const bar of $("health_table").querySelectorAll("td.bar span")) bar.style.width = `${bar.dataset.w}%`;
}

function effectiveLr(m) {
  // A step below a weight's float32 spacing is lost: the measured rate would read 0. Say so.
  const num = (v) => (v === undefined || v === null ? "-" : v.toPrecision(2));
  const frozen = m.frozen_fraction || 0, share = `${(100 * frozen).toFixed(0)}%`;
  if (m.effective_lr === null && m.effective_lr_below !== undefined) {
    const why = `below float32 resolution: ${share} of these weights did not move, their steps ` +
      `smaller than the weights' float32 spacing; the rate is under ${num(m.effective_lr_below)}`;
    return `<td class="lost" title="${why}">&lt; ${num(m.effective_lr_below)} (below float32 resolution)</td>`;
  }
  const note = frozen > 0 ? ` title="${share} of these weights did not move (step below float32 resolution)"` : "";
  return `<td${note}>${num(m.effective_lr)}${frozen > 0 ? "*" : ""}</td>`;
}

// ---- race ---------------------------------------------------------------------------------

const RACE_CHOICES = { activation: "activations", optimizer: "optimizers", regularization: "regularizations" };

function setupRace(menus) {
  const box = $("variants");
  for (let i = 1; i < menus.limits.max_racers; i++) {
    const row = document.createElement("div");
    row.className = "variant";
    const field = document.createElement("select"), value = document.createElement("select");
    const number = document.createElement("input");
    Object.assign(number, { type: "number", step: "any", hidden: true });
    field.add(new Option("(none)", ""));
    for (const f of menus.race_fields) field.add(new Option(f.replace(/_/g, " "), f));
    field.onchange = () => {
      const choices = RACE_CHOICES[field.value];
      value.hidden = !choices;
      number.hidden = !!choices || !field.value;
      if (choices) {
        value.innerHTML = "";
        for (const e of menus[choices]) value.add(new Option((e.name || e).replace(/_/g, " "), e.name || e));
      } else if (field.value) {
        number.value = state.config[field.value];
      }
    };
    row.append(`#${i + 1} `, field, value, number);
    box.appendChild(row);
    field.onchange();
  }
  $("race_start").onclick = () => {
    const variants = [];
    for (const row of box.children) {
      const [field, value, number] = row.querySelectorAll("select, input");
      if (!field.value) continue;
      variants.push({ [field.value]: RACE_CHOICES[field.value] ? value.value : Number(number.value) });
    }
    setPlaying(false);
    state.history = [];
    state.raceCurves = null; // a new race: new curves
    send({ type: "race", variants });
  };
  $("race_end").onclick = () => send({ type: "race", variants: [] });
  setupCurve();
  $("anatomy_close").onclick = () => send({ type: "anatomy", layer: null });
  $("transform_close").onclick = () => send({ type: "transform", layer: null });
  const units = () => [Number($("transform_u").value), Number($("transform_v").value)];
  for (const id of ["transform_u", "transform_v"]) {
    $(id).onchange = () => send({ type: "transform", layer: state.transformLayer, units: units() });
  }
}

function showRace(msg) {
  state.race = msg;
  $("race_end").hidden = !msg;
  $("race_start").textContent = msg ? "Restart race" : "Start race";
  saveView(); // the link reproduces the race
  const box = $("racers");
  $("race_losses").hidden = !msg;
  if (!msg) { box.innerHTML = ""; state.raceCurves = null; return; }
  if (!state.raceCurves || state.raceCurves.length !== msg.racers.length) {
    state.raceCurves = msg.racers.map(() => []);
  }
  if (box.children.length !== msg.racers.length) {
    box.innerHTML = "";
    msg.racers.forEach((r, i) => {
      const div = document.createElement("div");
      div.className = "racer";
      div.style.setProperty("--racer", RACER_COLOURS[i]);
      const label = Object.entries(r.changes).map(([k, v]) => `${k.replace(/_/g, " ")} ${v}`).join(", ");
      div.innerHTML = `<canvas width="100" height="100"></canvas><div class="rlabel">` +
        `#${i + 1} ${i ? label : "(this network)"}</div><div class="rloss"></div>`;
      box.appendChild(div);
    });
  }
  msg.racers.forEach((r, i) => {
    // One point per epoch; a reset (a smaller epoch) drops what came after it.
    const curve = state.raceCurves[i];
    while (curve.length && curve[curve.length - 1][0] >= r.epoch) curve.pop();
    curve.push([r.epoch, r.train_loss]);
  });
  drawRaceChart();
  const fmt = (v) => (v === null ? "NaN" : v.toFixed(3));
  msg.racers.forEach((r, i) => {
    const div = box.children[i];
    paint(div.querySelector("canvas"), r.output, msg.grid, $("discretize").checked, r.classes);
    div.querySelector(".rloss").textContent =
      `epoch ${r.epoch}: train ${fmt(r.train_loss)}, test ${fmt(r.test_loss)}${r.diverged ? " (diverged)" : ""}`;
  });
}

const RACER_COLOURS = ["#222222", "#d62728", "#1f77b4", "#2ca02c"];

function drawRaceChart() {
  // Every racer's training loss against the epoch, on one scale (0 to the largest finite
  // loss); a diverged racer's line stops where its loss stopped being finite.
  const canvas = $("race_chart"), ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const points = state.raceCurves.flat().filter(([, v]) => v !== null && isFinite(v));
  if (!points.length) return;
  const last = Math.max(...points.map(([e]) => e), 1), top = Math.max(...points.map(([, v]) => v)) || 1;
  state.raceCurves.forEach((curve, i) => {
    ctx.beginPath();
    let drawing = false;
    for (const [e, v] of curve) {
      if (v === null || !isFinite(v)) { drawing = false; continue; }
      const x = (e / last) * (W - 2) + 1, y = H - (v / top) * (H - 4) - 2;
      drawing ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
      drawing = true;
    }
    ctx.strokeStyle = RACER_COLOURS[i];
    ctx.lineWidth = 2;
    ctx.stroke();
  });
  ctx.lineWidth = 1;
}

// ---- anatomy ------------------------------------------------------------------------------

function showAnatomy(a) {
  if (a && a.layer === null) a = null;
  $("anatomy").hidden = !a;
  if (!a) return;
  $("anatomy_layer").textContent = `${a.layer + 1} (${a.activation.replace(/_/g, " ")})`;
  $("anatomy_formula").textContent = a.formula || "";
  const canvas = $("anatomy_plot"), ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const [lo, hi] = a.edges, X = (z) => ((z - lo) / (hi - lo)) * W;
  const top = Math.max(...a.counts, 1), bw = W / a.counts.length;
  ctx.fillStyle = "#ddd";
  a.counts.forEach((c, i) => ctx.fillRect(i * bw, H - (c / top) * H * 0.9, bw - 1, (c / top) * H * 0.9));
  const curves = [[a.f, "#0877bd"], [a.df, "#f59322"]].filter(([v]) => v);
  const values = curves.flatMap(([v]) => v);
  const ymin = Math.min(0, ...values), ymax = Math.max(1, ...values), Y = (v) => H - 6 - ((v - ymin) / (ymax - ymin)) * (H - 12);
  ctx.strokeStyle = "#999";
  ctx.beginPath(); ctx.moveTo(0, Y(0)); ctx.lineTo(W, Y(0)); ctx.moveTo(X(0), 0); ctx.lineTo(X(0), H); ctx.stroke();
  for (const [v, style] of curves) {
    ctx.beginPath();
    v.forEach((y, i) => (i ? ctx.lineTo(X(a.z[i]), Y(y)) : ctx.moveTo(X(a.z[i]), Y(y))));
    ctx.strokeStyle = style; ctx.lineWidth = 2; ctx.stroke(); ctx.lineWidth = 1;
  }
  ctx.fillStyle = "#555";
  ctx.fillText(lo.toFixed(1), 2, H - 2);
  ctx.fillText(hi.toFixed(1), W - 28, H - 2);
  if (!a.f) ctx.fillText("a vector activation: f(z_i) depends on the whole layer", 8, 14);
}

// ---- ConvNetJS view -----------------------------------------------------------------------

function showTransform(t) {
  if (t && t.layer === null) t = null;
  $("transform").hidden = !t;
  if (!t) { state.transformLayer = null; return; }
  const width = state.config.hidden[t.layer];
  if (state.transformLayer !== t.layer || $("transform_u").options.length !== width) {
    for (const id of ["transform_u", "transform_v"]) {
      $(id).innerHTML = "";
      for (let u = 0; u < width; u++) $(id).add(new Option(`#${u + 1}`, u));
    }
  }
  state.transformLayer = t.layer;
  $("transform_u").value = t.units[0];
  $("transform_v").value = t.units[1];
  $("transform_layer").textContent = String(t.layer + 1);
  const canvas = $("transform_plot"), ctx = canvas.getContext("2d"), W = canvas.width, pad = 8;
  const all = t.lines.flat().concat(t.points);
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  const X = (v) => pad + ((v - x0) / (x1 - x0 || 1)) * (W - 2 * pad);
  const Y = (v) => W - pad - ((v - y0) / (y1 - y0 || 1)) * (W - 2 * pad);
  ctx.clearRect(0, 0, W, W);
  ctx.strokeStyle = "rgba(0,0,0,0.25)";
  for (const line of t.lines) {
    ctx.beginPath();
    line.forEach((p, i) => (i ? ctx.lineTo(X(p[0]), Y(p[1])) : ctx.moveTo(X(p[0]), Y(p[1]))));
    ctx.stroke();
  }
  t.points.forEach((p, i) => {
    ctx.beginPath();
    ctx.arc(X(p[0]), Y(p[1]), 2.5, 0, 2 * Math.PI);
    ctx.fillStyle = pointColour(t.labels[i]);
    ctx.fill();
  });
}

// ---- ConvNetJS 1-D regression --------------------------------------------------------------

function setupCurve() {
  $("curve_open").onclick = () => send({ type: "curve", layer: 0 });
  $("curve_close").onclick = () => send({ type: "curve", layer: null });
  $("curve_layer").onchange = () => send({ type: "curve", layer: Number($("curve_layer").value) });
  $("curve_plot").onclick = (e) => {
    // A click adds the point under the pointer (canvas pixels -> x in [-E, E], y in [-Y, Y]).
    const canvas = $("curve_plot"), box = canvas.getBoundingClientRect(), [E, Ymax] = state.curve.range;
    const px = ((e.clientX - box.left) / box.width) * canvas.width;
    const py = ((e.clientY - box.top) / box.height) * canvas.height;
    const x = (px / canvas.width) * 2 * E - E, y = (1 - (2 * py) / canvas.height) * Ymax;
    send({ type: "curve", add: [+x.toFixed(3), +y.toFixed(3)] });
  };
}

function showCurve(c) {
  if (c && c.layer === null) c = null;
  state.curve = c;
  $("curve").hidden = !c;
  if (!c) return;
  const hidden = state.config.hidden.length, select = $("curve_layer");
  if (select.options.length !== hidden) {
    select.innerHTML = "";
    for (let l = 0; l < hidden; l++) select.add(new Option(String(l + 1), l));
  }
  select.value = c.layer;
  const fmt = (v) => (v === null ? "NaN" : v.toFixed(4));
  $("curve_info").textContent = `${c.points.length} points, epoch ${c.epoch}, loss ${fmt(c.loss)}` +
    (c.diverged ? " (diverged)" : "");
  const canvas = $("curve_plot"), ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
  const [E, Ymax] = c.range, X = (x) => ((x + E) / (2 * E)) * W, Y = (y) => H / 2 - (y / Ymax) * (H / 2);
  ctx.clearRect(0, 0, W, H);
  ctx.strokeStyle = "#ccc";
  ctx.beginPath(); ctx.moveTo(0, Y(0)); ctx.lineTo(W, Y(0)); ctx.moveTo(X(0), 0); ctx.lineTo(X(0), H); ctx.stroke();
  const line = (ys, style, width) => {
    ctx.beginPath();
    ys.forEach((y, i) => (i ? ctx.lineTo(X(c.x[i]), Y(y)) : ctx.moveTo(X(c.x[i]), Y(y))));
    ctx.strokeStyle = style; ctx.lineWidth = width; ctx.stroke(); ctx.lineWidth = 1;
  };
  c.units.forEach((ys, u) => line(ys, `hsla(${(u * 47) % 360}, 55%, 55%, 0.55)`, 1));
  line(c.fit, "#183d4e", 2.5);
  for (const [x, y] of c.points) {
    ctx.beginPath();
    ctx.arc(X(x), Y(y), 4, 0, 2 * Math.PI);
    ctx.fillStyle = "#f59322"; ctx.fill();
    ctx.strokeStyle = "#000"; ctx.stroke();
  }
}

// ---- export / load ------------------------------------------------------------------------

function download(network) {
  const blob = new Blob([JSON.stringify(network, null, 1)], { type: "application/json" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = "actlab-network.json";
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function loadFile(event) {
  const file = event.target.files[0];
  if (!file) return;
  file.text().then((text) => {
    try {
      send({ type: "load", network: JSON.parse(text) });
    } catch (e) {
      status(`${file.name} is not JSON`, true);
    }
  });
  event.target.value = "";
}
