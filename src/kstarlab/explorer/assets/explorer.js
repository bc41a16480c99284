/* kstarlab explorer: linked views over the payload in #explorer-data, drawn with Plotly.
 * The selection (state) lives in the URL fragment: #pstudy=..&model=..&model2=..&sample=..
 * &study=..&cell=..&class=..; every change re-renders the views and rewrites the fragment. */
(function () {
  "use strict";
  // ---- packed number lists (page.py `pack`): {"$packed": dtype, "data": base64 little-endian}
  const PACKED = { f8: [8, "getFloat64"], f4: [4, "getFloat32"], u1: [1, "getUint8"], i1: [1, "getInt8"], u2: [2, "getUint16"], i2: [2, "getInt16"], u4: [4, "getUint32"], i4: [4, "getInt32"] };
  function unpackNumbers(p) {
    const text = atob(p.data);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    const view = new DataView(bytes.buffer);
    const [size, get] = PACKED[p.$packed.replace(/^f(?=[ui])/, "")]; // "fu1": whole floats as u1
    const out = new Array(bytes.length / size);
    for (let i = 0; i < out.length; i++) { const x = view[get](i * size, true); out[i] = x === x ? x : null; }
    return out;
  }
  function unpack(v) {
    if (Array.isArray(v)) return v.map(unpack);
    if (v === null || typeof v !== "object") return v;
    if (typeof v.$packed === "string") return unpackNumbers(v);
    for (const k of Object.keys(v)) v[k] = unpack(v[k]);
    return v;
  }
  // ---- end of packed number lists
  const DATA = unpack(JSON.parse(document.getElementById("explorer-data").textContent));
  const GL_ABOVE = 2000; // more points than this: WebGL traces
  const TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const APPROACH_COLOURS = { dense: "#000000", oneshot: "#7f7f7f", finetune: "#1f77b4", gradual: "#2ca02c", lottery: "#d62728", snip: "#9467bd", random: "#8c564b", mpt: "#e377c2", benchmark: "#bbbbbb" };
  const PATTERN_COLOURS = { Fractured: "#c0392b", Overlapped: "#d68910", Clustered: "#1e8449" };
  const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["toImage"] };
  const names = DATA.class_names;
  const state = { pstudy: null, model: null, model2: null, sample: null, brushed: new Set(), benches: [], study: null, cell: null, cls: null };
  const $ = (id) => document.getElementById(id);

  function classColour(c) {
    if (names.length <= 10) return TAB10[c % 10];
    return "hsl(" + Math.round((360 * c) / names.length) + ",65%,45%)";
  }
  function className(c) { return c === null || c === undefined ? "?" : (names[c] !== undefined ? names[c] : String(c)); }
  function fmt(v, d) { return v === null || v === undefined ? "—" : Number(v).toFixed(d === undefined ? 3 : d); }
  function esc(s) { return String(s).replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[ch]); }
  function plot(id, traces, layout) {
    const base = { margin: { l: 48, r: 12, t: 28, b: 40 }, font: { size: 11 }, hovermode: "closest", uirevision: id };
    return Plotly.react($(id), traces, Object.assign(base, layout || {}), CONFIG);
  }
  function empty(id, text) {
    // an empty plot with a message (not plain HTML): the view keeps its Plotly handlers
    return plot(id, [], { xaxis: { visible: false }, yaxis: { visible: false }, annotations: [{ text: esc(text), showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5, font: { color: "#666", size: 12 } }] });
  }

  // ------------------------------------------------------------------ lookups
  const pstudy = () => DATA.pruning.find((p) => p.name === state.pstudy) || null;
  const cellOf = (key) => DATA.kstar.cells.find((c) => c.key === key) || null;
  const studyOf = (name) => DATA.kstar.studies.find((s) => s.name === name) || null;
  function entity(p, name) { return p ? p.entities.find((e) => e.name === name) || null : null; }
  function resolveModel(name) {
    // an entity of the current study, else a pruning study of that name (its dense model)
    const p = pstudy();
    if (entity(p, name)) return { pstudy: state.pstudy, model: name };
    const other = DATA.pruning.find((q) => q.name === name || q.entities.some((e) => e.name === name));
    if (other) return { pstudy: other.name, model: entity(other, name) ? name : other.dense };
    return null;
  }
  function tile(sheet, pos, scale) {
    if (!sheet || pos < 0) return '<span class="thumb" style="width:32px;height:32px"></span>';
    const s = sheet.size * (scale || 2);
    const col = pos % sheet.cols, row = Math.floor(pos / sheet.cols);
    const rows = Math.ceil(sheet.n / sheet.cols);
    return '<span class="thumb" style="width:' + s + "px;height:" + s + "px;background-image:url(" + sheet.uri + ");background-size:" +
      sheet.cols * s + "px " + rows * s + "px;background-position:-" + col * s + "px -" + row * s + 'px"></span>';
  }

  // ------------------------------------------------------------------ the fragment
  function readHash() {
    const params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    if (params.has("pstudy") && DATA.pruning.some((p) => p.name === params.get("pstudy"))) state.pstudy = params.get("pstudy");
    if (params.has("model")) {
      const found = resolveModel(params.get("model"));
      if (found) { state.pstudy = found.pstudy; state.model = found.model; }
      const cell = DATA.kstar.cells.find((c) => c.model === params.get("model"));
      if (cell && !params.has("cell")) state.cell = cell.key;
    }
    if (params.has("model2") && entity(pstudy(), params.get("model2"))) state.model2 = params.get("model2");
    if (params.has("sample") && /^\d+$/.test(params.get("sample"))) state.sample = Number(params.get("sample"));
    if (params.has("study") && studyOf(params.get("study"))) {
      state.study = params.get("study");
      if (!params.has("cell")) state.cell = studyOf(state.study).cells[0];
    }
    if (params.has("cell") && cellOf(params.get("cell"))) state.cell = params.get("cell");
    if (params.has("class") && /^\d+$/.test(params.get("class"))) state.cls = Number(params.get("class"));
  }
  function writeHash() {
    const params = new URLSearchParams();
    if (state.pstudy) params.set("pstudy", state.pstudy);
    if (state.model) params.set("model", state.model);
    if (state.model2) params.set("model2", state.model2);
    if (state.sample !== null) params.set("sample", String(state.sample));
    if (state.study) params.set("study", state.study);
    if (state.cell) params.set("cell", state.cell);
    if (state.cls !== null) params.set("class", String(state.cls));
    const hash = "#" + params.toString().replace(/%2F/g, "/").replace(/%3A/g, ":");
    if (hash !== window.location.hash) history.replaceState(null, "", hash);
  }
  function defaults() {
    if (!state.pstudy && DATA.pruning.length) state.pstudy = DATA.pruning[0].name;
    const p = pstudy();
    if (p && !entity(p, state.model)) state.model = p.dense;
    if (p && state.model2 && !entity(p, state.model2)) state.model2 = null;
    if (!state.cell && DATA.kstar.cells.length) state.cell = DATA.kstar.cells[0].key;
    if (state.cell && (!state.study || !studyOf(state.study).cells.includes(state.cell))) {
      const s = DATA.kstar.studies.find((g) => g.cells.includes(state.cell));
      state.study = s ? s.name : null;
    }
  }
  function update(change) {
    Object.assign(state, change);
    defaults();
    render();
    writeHash();
  }

  // ------------------------------------------------------------------ 1 · model map
  function renderMap() {
    const p = pstudy();
    if (!p) return empty("map-plot", "No pruning study in these results.");
    const index = Object.fromEntries(p.entities.map((e) => [e.name, e]));
    const ex = [], ey = [];
    p.entities.forEach((e) => e.tree.forEach((o) => {
      if (o > e.name && index[o]) { ex.push(e.x, index[o].x, null); ey.push(e.y, index[o].y, null); }
    }));
    const traces = [{ x: ex, y: ey, mode: "lines", line: { color: "#ccc", width: 1 }, hoverinfo: "skip", showlegend: false, name: "tree" }];
    const groups = [...new Set(p.entities.map((e) => e.approach))];
    groups.forEach((g) => {
      const es = p.entities.filter((e) => e.approach === g);
      traces.push({
        x: es.map((e) => e.x), y: es.map((e) => e.y), customdata: es.map((e) => e.name), name: g, mode: "markers",
        marker: { color: APPROACH_COLOURS[g] || TAB10[groups.indexOf(g) % 10], size: es.map((e) => (e.kind === "benchmark" ? 9 : 8 + 22 * e.sparsity)), symbol: g === "benchmark" ? "diamond" : "circle", line: { width: 0.5, color: "#fff" } },
        text: es.map((e) => e.name + "<br>accuracy " + fmt(e.accuracy) + (e.kind === "benchmark" ? "" : "<br>corruption accuracy " + fmt(e.corruption_accuracy) + "<br>relative robustness " + fmt(e.relative_robustness))),
        hovertemplate: "%{text}<extra></extra>",
      });
    });
    const ring = (list, colour, label) => {
      const es = list.map((n) => index[n]).filter(Boolean);
      return { x: es.map((e) => e.x), y: es.map((e) => e.y), customdata: es.map((e) => e.name), mode: "markers+text", text: es.map((e) => e.name), textposition: "top center", name: label, hoverinfo: "skip", showlegend: false, marker: { size: 26, color: "rgba(0,0,0,0)", line: { width: 3, color: colour } } };
    };
    traces.push(ring([state.model].filter(Boolean), "#1f77b4", "selected"));
    traces.push(ring([state.model2].filter(Boolean), "#ff7f0e", "second"));
    traces.push(ring(state.benches, "#d62728", "benchmarks"));
    plot("map-plot", traces, { title: { text: p.name + ": " + p.entities.filter((e) => e.kind !== "benchmark").length + " models, " + (p.benchmarks.length - 1) + " benchmarks", font: { size: 12 } }, xaxis: { showticklabels: false, zeroline: false }, yaxis: { showticklabels: false, zeroline: false }, legend: { font: { size: 10 } } });
  }

  // ------------------------------------------------------------------ 2 · geometry
  function opacities(samples) {
    if (!state.brushed.size) return 0.75;
    return samples.map((s) => (state.brushed.has(s) ? 0.95 : 0.12));
  }
  function renderPolar(id, name, colourLine) {
    const p = pstudy();
    const f = p && name ? p.features[name] : null;
    if (!f) return empty(id, "Shift-click a second model on the map to compare.");
    // a benchmark entity holds its one benchmark's predictions, a model its clean ones first
    const pred = f.predictions.clean || Object.values(f.predictions)[0];
    const n = p.samples.length;
    const wrong = p.labels.map((y, i) => pred[i] !== y);
    const trace = {
      type: n > GL_ABOVE ? "scatterpolargl" : "scatterpolar", r: f.length, theta: f.angle, mode: "markers", customdata: p.samples,
      marker: { size: p.samples.map((s) => (s === state.sample ? 14 : 6)), color: p.labels.map(classColour), symbol: wrong.map((w) => (w ? "x" : "circle")), opacity: opacities(p.samples), line: { width: 0 } },
      text: p.samples.map((s, i) => "sample " + s + "<br>class " + className(p.labels[i]) + "<br>predicted " + className(pred[i]) + "<br>angle " + fmt(f.angle[i], 1) + "°, length " + fmt(f.length[i], 2) + ", margin " + fmt(f.margin[i], 2)),
      hovertemplate: "%{text}<extra></extra>", showlegend: false,
    };
    const wrongN = wrong.filter(Boolean).length;
    // one radial scale for both selected models, so that their shapes compare
    const longest = Math.max(...[state.model, state.model2].filter(Boolean).map((m) => Math.max(...p.features[m].length.filter((v) => v !== null))));
    plot(id, [trace], { title: { text: name + " · " + wrongN + " of " + n + " misclassified", font: { size: 12, color: colourLine } }, polar: { sector: [0, 180], angularaxis: { direction: "counterclockwise", rotation: 0, ticksuffix: "°" }, radialaxis: { title: { text: "length" }, range: [0, 1.05 * longest] } }, margin: { l: 30, r: 30, t: 40, b: 10 } });
  }
  function renderMargins() {
    const p = pstudy();
    if (!p) return empty("margins", "No pruning study.");
    const traces = [state.model, state.model2].filter(Boolean).map((m, k) => ({
      type: "box", name: m, x: p.labels.map(className), y: p.features[m].margin, marker: { color: k ? "#ff7f0e" : "#1f77b4", size: 3 }, boxpoints: false, offsetgroup: String(k),
    }));
    const order = [...new Set(p.labels)].sort((a, b) => a - b).map(className);
    plot("margins", traces, { boxmode: "group", title: { text: "margin per class", font: { size: 12 } }, xaxis: { title: { text: "class" }, type: "category", categoryorder: "array", categoryarray: order }, yaxis: { title: { text: "margin" } }, height: 300 });
  }

  // ------------------------------------------------------------------ 3 · benchmarks
  function renderBenchmarks() {
    const p = pstudy();
    if (!p) return empty("bench-plot", "No pruning study.");
    const s = p.similarity;
    plot("bench-plot", [{ type: "heatmap", z: s.distances, x: s.names, y: s.names, customdata: s.distances.map((row, i) => row.map((_, j) => [s.entities[i], s.entities[j]])), colorscale: "Viridis", hovertemplate: "%{y} vs %{x}<br>distance %{z:.3f}<extra></extra>", colorbar: { title: { text: "distance" } } }], { xaxis: { tickangle: -60, automargin: true, type: "category" }, yaxis: { automargin: true, autorange: "reversed", type: "category" }, margin: { l: 10, r: 10, t: 10, b: 10 } });
  }

  // ------------------------------------------------------------------ 4 · samples and detail
  function jitter(i) { const x = Math.sin(i * 12.9898) * 43758.5453; return (x - Math.floor(x) - 0.5) * 0.03; }
  function pruningOf(p, name) {
    // a model's own (the geometry section's one-shot levels), its model's, or the study's
    const own = p.features[name].pruning_robustness;
    const e = entity(p, name);
    const parent = e && e.model ? p.features[e.model].pruning_robustness : null;
    return own || parent || p.pruning_robustness;
  }
  function renderSamples() {
    const p = pstudy();
    if (!p || !state.model) return empty("samples-plot", "No pruning study.");
    const f = p.features[state.model];
    const pr = pruningOf(p, state.model);
    const n = p.samples.length;
    const trace = {
      type: n > GL_ABOVE ? "scattergl" : "scatter", mode: "markers", customdata: p.samples,
      x: pr.map((v, i) => v + jitter(i)), y: f.corruption_robustness.map((v, i) => v + jitter(i + 7919)),
      marker: { size: p.samples.map((s) => (s === state.sample ? 14 : 6)), color: p.labels.map(classColour), opacity: opacities(p.samples), line: { width: p.samples.map((s) => (s === state.sample ? 2 : 0)), color: "#000" } },
      text: p.samples.map((s, i) => "sample " + s + " · class " + className(p.labels[i]) + "<br>pruning robustness " + fmt(pr[i], 2) + "<br>corruption robustness " + fmt(f.corruption_robustness[i], 2)),
      hovertemplate: "%{text}<extra></extra>", showlegend: false,
    };
    plot("samples-plot", [trace], { dragmode: "lasso", title: { text: state.model + (state.brushed.size ? " · " + state.brushed.size + " samples brushed" : ""), font: { size: 12 } }, xaxis: { title: { text: p.pruning_label || "pruning robustness (share of " + p.n_pruned + " pruned models right)" }, range: [-0.05, 1.05] }, yaxis: { title: { text: "corruption robustness of " + state.model }, range: [-0.05, 1.05] } });
  }
  function kstarOfSample(s) {
    const c = cellOf(state.cell);
    if (!c) return null;
    const i = c.samples.indexOf(s);
    return i < 0 ? null : c.kstar[i];
  }
  function renderDetail() {
    const panel = $("detail");
    const p = pstudy();
    panel.dataset.model = state.model || "";
    panel.dataset.sample = state.sample === null ? "" : String(state.sample);
    if (!p || state.sample === null) { panel.innerHTML = '<div class="empty">Click a sample.</div>'; return; }
    const pos = p.samples.indexOf(state.sample);
    if (pos < 0) { panel.innerHTML = '<div class="empty">Sample ' + state.sample + " is not among the " + p.samples.length + " samples shown for study " + esc(p.name) + ".</div>"; return; }
    const label = p.labels[pos];
    const k = kstarOfSample(state.sample);
    let html = "<div><b>sample " + state.sample + "</b> · class " + esc(className(label)) + (k === null ? "" : " · k* " + fmt(k) + " in " + esc(state.cell)) + " · selected model <b>" + esc(state.model) + "</b></div>";
    html += '<div style="overflow-x:auto"><table><tr><th></th>';
    p.benchmarks.forEach((b, j) => { html += '<th class="bench">' + tile(p.images ? p.images[b] : null, p.images && p.images[b] ? pos : -1, 1.5) + "<br>" + esc(b.replace(/^corrupt-/, "")) + "</th>"; });
    html += "</tr>";
    p.entities.filter((e) => e.kind !== "benchmark").forEach((e) => {
      const f = p.features[e.name];
      const mark = e.name === state.model ? " ◀" : e.name === state.model2 ? " ◁" : "";
      html += "<tr><th style=\"text-align:left\">" + esc(e.name) + mark + "</th>";
      p.benchmarks.forEach((b) => {
        if (!f.predictions[b]) { html += "<td>—</td>"; return; }
        const y = f.predictions[b][pos];
        html += '<td class="' + (y === label ? "" : "wrong") + '">' + esc(className(y)) + "</td>";
      });
      html += "</tr>";
    });
    html += "</table></div><div class=\"help\">Each model's prediction on the clean image and on each corrupted version (red: wrong).</div>";
    panel.innerHTML = html;
  }

  // ------------------------------------------------------------------ 5 · k*
  function fillCells() {
    const select = $("cell");
    select.innerHTML = "";
    DATA.kstar.studies.forEach((s) => {
      const group = document.createElement("optgroup");
      group.label = s.name;
      s.cells.forEach((key) => { const o = document.createElement("option"); o.value = s.name + "|" + key; o.textContent = key; group.appendChild(o); });
      select.appendChild(group);
    });
  }
  function renderKstar() {
    const c = cellOf(state.cell);
    if (!c) { empty("kstar-plot", "No k* results."); $("kstar-stats").innerHTML = ""; $("kstar-list").innerHTML = ""; return; }
    $("cell").value = state.study + "|" + c.key;
    // the table first: the plot takes the width the table leaves
    let rows = "<tr><th>class</th><th>n</th><th>μ</th><th>σ</th><th>γ</th><th>pattern</th></tr>";
    c.classes.forEach((r) => { rows += '<tr data-class="' + r.class + '" class="' + (r.class === state.cls ? "current" : "") + '"><td>' + esc(className(r.class)) + "</td><td>" + r.n + "</td><td>" + fmt(r.mean) + "</td><td>" + fmt(r.std) + "</td><td>" + fmt(r.skew, 2) + '</td><td class="pattern-' + esc(r.pattern) + '">' + esc(r.pattern) + "</td></tr>"; });
    $("kstar-stats").innerHTML = rows;
    const many = c.classes.length > 40;
    let traces;
    if (many) {
      traces = [{ type: "scattergl", mode: "markers", x: c.classes.map((r) => r.skew), y: c.classes.map((r) => r.mean), customdata: c.classes.map((r) => r.class), marker: { color: c.classes.map((r) => PATTERN_COLOURS[r.pattern] || "#555"), size: c.classes.map((r) => (r.class === state.cls ? 14 : 7)) }, text: c.classes.map((r) => className(r.class) + " · " + r.pattern), hovertemplate: "%{text}<br>γ %{x:.2f}, μ %{y:.3f}<extra></extra>", showlegend: false }];
    } else {
      traces = c.classes.map((r) => {
        const values = c.kstar.filter((_, i) => c.labels[i] === r.class);
        const samples = c.samples.filter((_, i) => c.labels[i] === r.class);
        const colour = PATTERN_COLOURS[r.pattern] || "#555";
        return { type: "violin", x: values.map(() => className(r.class)), y: values, customdata: samples.map(() => r.class), name: className(r.class), points: "all", pointpos: 0, jitter: 0.4, marker: { size: 3, opacity: 0.6 }, line: { color: colour, width: r.class === state.cls ? 3 : 1 }, fillcolor: r.class === state.cls ? colour : "rgba(0,0,0,0.04)", opacity: 0.8, spanmode: "hard", showlegend: false, hovertemplate: "class " + esc(className(r.class)) + " · k* %{y:.3f}<extra></extra>" };
      });
    }
    plot("kstar-plot", traces, { title: { text: c.key + " (" + c.n_samples + " samples" + (c.samples.length < c.n_samples ? ", " + c.samples.length + " drawn" : "") + ")", font: { size: 12 } }, xaxis: many ? { title: { text: "γ (skew)" } } : { title: { text: "class" }, type: "category" }, yaxis: many ? { title: { text: "μ (mean k*)" } } : { title: { text: "k*" }, range: [0, 1.02] } });
    renderLowest(c);
  }
  function renderLowest(c) {
    const list = $("kstar-list");
    if (state.cls === null || !c.lowest[String(state.cls)]) { list.innerHTML = '<div class="empty">Click a class to see its samples with the lowest k*.</div>'; return; }
    const source = c.images ? DATA.kstar.images[c.images] : null;
    const sheet = source ? source.sheet : null;
    const pos = (s) => (source ? source.samples.indexOf(s) : -1);
    let html = "<div><b>class " + esc(className(state.cls)) + "</b>: its " + c.lowest[String(state.cls)].length + " samples with the lowest k*, each beside its nearest sample of another class" + (c.has_nearest ? "" : " (not in this k* table: rerun its job)") + "</div><div class=\"pairs\">";
    c.lowest[String(state.cls)].forEach((e) => {
      const brushed = state.brushed.has(e.index) || state.sample === e.index;
      html += '<div class="pairitem' + (brushed ? " brushed" : "") + '" data-sample="' + e.index + '">' + tile(sheet, pos(e.index), 2) + " " + (e.nearest === undefined ? "" : tile(sheet, pos(e.nearest), 2)) +
        "<br>#" + e.index + " k*=" + fmt(e.kstar) + (e.nearest === undefined ? "" : "<br>nearest: #" + e.nearest + " (class " + esc(className(e.nearest_label)) + ")") + "</div>";
    });
    list.innerHTML = html + "</div>";
  }

  // ------------------------------------------------------------------ 6 · projections
  function renderProjections() {
    const box = $("proj-plots");
    const s = studyOf(state.study);
    const projs = s && s.projections ? s.projections : null;
    // the cell's projections in its study, else in any study that projects the same cell
    const everywhere = DATA.kstar.studies.flatMap((g) => g.projections || []);
    const proj = (projs ? projs.find((q) => q.key === state.cell) : null) || everywhere.find((q) => q.key === state.cell) || null;
    box.querySelectorAll(".plot").forEach((el) => Plotly.purge(el));
    if (!proj) {
      const any = DATA.kstar.studies.filter((g) => g.projections && g.projections.length).map((g) => g.name + ": " + g.projections.map((q) => q.key).join(", "));
      box.innerHTML = '<div class="empty">No projection of ' + esc(state.cell || "this cell") + (any.length ? ". Cells with projections: " + esc(any.join("; ")) : ". No study of these results has projections.") + "</div>";
      return;
    }
    box.innerHTML = "";
    const byKstar = $("proj-colour").value === "kstar";
    // every plot's box first, so that each is drawn at its final width in the grid
    Object.keys(proj.coords).forEach((method) => {
      const div = document.createElement("div");
      div.className = "plot";
      div.id = "proj-" + method;
      box.appendChild(div);
    });
    Object.entries(proj.coords).forEach(([method, xy]) => {
      const div = $("proj-" + method);
      const focus = proj.samples.map((s2, i) => (state.cls === null || proj.labels[i] === state.cls) && (!state.brushed.size || state.brushed.has(s2)));
      plot(div.id, [{
        type: proj.samples.length > GL_ABOVE ? "scattergl" : "scatter", mode: "markers", x: xy[0], y: xy[1], customdata: proj.samples,
        marker: { size: proj.samples.map((s2) => (s2 === state.sample ? 12 : 5)), color: byKstar ? proj.kstar : proj.labels.map(classColour), colorscale: byKstar ? "Viridis" : undefined, cmin: 0, cmax: 1, showscale: byKstar && method === Object.keys(proj.coords)[0], opacity: focus.map((f) => (f ? 0.85 : 0.1)) },
        text: proj.samples.map((s2, i) => "sample " + s2 + " · class " + className(proj.labels[i]) + " · k* " + fmt(proj.kstar[i])), hovertemplate: "%{text}<extra></extra>", showlegend: false,
      }], { title: { text: method, font: { size: 12 } }, xaxis: { showticklabels: false, zeroline: false }, yaxis: { showticklabels: false, zeroline: false }, margin: { l: 10, r: 10, t: 28, b: 10 } });
      div.on("plotly_click", (ev) => update({ sample: ev.points[0].customdata }));
    });
  }

  // ------------------------------------------------------------------ wiring
  function timed(name, fn) {
    const t0 = performance.now();
    fn();
    performance.measure(name, { start: t0, end: performance.now() });
  }
  function render() {
    const p = pstudy();
    $("selection").textContent = [p ? "model " + state.model + (state.model2 ? " vs " + state.model2 : "") : "", state.sample === null ? "" : "sample " + state.sample, state.cell ? "k* " + state.cell : "", state.cls === null ? "" : "class " + className(state.cls)].filter(Boolean).join(" · ");
    timed('renderMap', () => renderMap());
    timed('renderPolargeo-a', () => renderPolar("geo-a", state.model, "#1f77b4"));
    timed('renderPolargeo-b', () => renderPolar("geo-b", state.model2, "#ff7f0e"));
    timed('renderMargins', () => renderMargins());
    timed('renderBenchmarks', () => renderBenchmarks());
    timed('renderSamples', () => renderSamples());
    timed('renderDetail', () => renderDetail());
    timed('renderKstar', () => renderKstar());
    timed('renderProjections', () => renderProjections());
  }
  function wire() {
    const ps = $("pstudy");
    DATA.pruning.forEach((p) => { const o = document.createElement("option"); o.value = p.name; o.textContent = p.name; ps.appendChild(o); });
    ps.value = state.pstudy || "";
    ps.addEventListener("change", () => update({ pstudy: ps.value, model: null, model2: null, benches: [], brushed: new Set() }));
    $("map-plot").on("plotly_click", (ev) => {
      const name = ev.points[0].customdata;
      if (!name) return;
      if (ev.event && ev.event.shiftKey) update({ model2: name === state.model ? null : name });
      else update({ model: name, model2: state.model2 === name ? null : state.model2 });
    });
    ["geo-a", "geo-b"].forEach((id) => $(id).on("plotly_click", (ev) => update({ sample: ev.points[0].customdata })));
    $("bench-plot").on("plotly_click", (ev) => update({ benches: [].concat(...ev.points[0].customdata) }));
    $("samples-plot").on("plotly_click", (ev) => update({ sample: ev.points[0].customdata }));
    $("samples-plot").on("plotly_selected", (ev) => update({ brushed: new Set(ev && ev.points ? ev.points.map((q) => q.customdata) : []) }));
    $("samples-plot").on("plotly_deselect", () => update({ brushed: new Set() }));
    $("kstar-plot").on("plotly_click", (ev) => { const c = ev.points[0].customdata; if (c !== undefined) update({ cls: Number(c) }); });
    $("kstar-stats").addEventListener("click", (ev) => { const tr = ev.target.closest("tr[data-class]"); if (tr) update({ cls: Number(tr.dataset.class) }); });
    $("kstar-list").addEventListener("click", (ev) => { const it = ev.target.closest("[data-sample]"); if (it) update({ sample: Number(it.dataset.sample) }); });
    $("cell").addEventListener("change", () => { const [study, key] = $("cell").value.split("|"); update({ study: study, cell: key }); });
    $("proj-colour").addEventListener("change", () => renderProjections());
    window.addEventListener("hashchange", () => { readHash(); defaults(); render(); });
    const notes = $("notes");
    const gl = DATA.pruning.some((p) => p.samples.length > GL_ABOVE) || DATA.kstar.studies.some((s) => (s.projections || []).some((q) => q.samples.length > GL_ABOVE));
    const all = DATA.notes.concat(gl ? ["views of more than " + GL_ABOVE.toLocaleString("en") + " points are drawn with WebGL"] : []);
    all.forEach((n) => { const li = document.createElement("li"); li.textContent = n; notes.appendChild(li); });
  }

  readHash();
  defaults();
  fillCells();
  render();
  wire();
  writeHash();
  window.kstarExplorer = { state: state, update: update, data: DATA };
  document.body.dataset.ready = "1";
})();
