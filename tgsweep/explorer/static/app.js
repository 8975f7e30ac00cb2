// tgsweep explorer: plain JS over the JSON API (/api/...). No build step, no CDN.
// Every text from the store goes into the page as text (textContent), never as HTML:
// channel titles and post texts are written by the people being investigated.
"use strict";

const explorer = (window.explorer = { cy: null, info: null, ready: false, timings: {} });

// -- small helpers --------------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {  // nested lists of nodes (a link and a space per item)
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, options) {
  const response = await fetch(path, Object.assign({ credentials: "same-origin" }, options || {}));
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (e) { body = { detail: text }; }
  if (!response.ok) {
    const detail = body && body.detail ? (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)) : response.statusText;
    throw new Error(`${response.status}: ${detail}`);
  }
  return body;
}

function post(path, payload) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) });
}

const fmt = (v) => (v === null || v === undefined || v === "" ? "–" : String(v));
const score = (v) => (v === null || v === undefined ? "–" : Number(v).toFixed(2));
const day = (iso) => (iso ? String(iso).slice(0, 10) : "–");
const tme = (url, text) => el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, text || url);
const nodeLink = (id, text) => {
  const [kind, name] = [id.split(":")[0], id.slice(id.indexOf(":") + 1)];
  const route = { channel: "channel", bot: "bot", media: "cluster" }[kind];
  return route ? el("a", { href: `#/${route}/${encodeURIComponent(name)}` }, text || id) : el("span", {}, text || id);
};
const labelSpan = (label) => el("span", { class: `label-${label || "unknown"}` }, label || "unknown");

function table(headers, rows, sorting) {
  // `sorting` ({view, want, keys: {header: sort key}, sort, order, go}): those headers sort on the server, the
  // choice kept in the URL (or given to `go`); a click on the sorted column turns its order round.
  if (!rows.length) return el("p", { class: "muted" }, "none");
  const head = (h) => {
    const key = sorting && sorting.keys[h];
    if (!key) return el("th", { scope: "col" }, h);
    const sort = sorting.want.get("sort") || sorting.sort, order = sorting.want.get("order") || sorting.order || "desc";
    const on = sort === key;
    return el("th", { scope: "col", "aria-sort": on ? (order === "asc" ? "ascending" : "descending") : "none" },
      el("button", { type: "button", class: "sort", "data-sort": key, onclick: () => (sorting.go || ((c) => hashWith(sorting.view, sorting.want, c)))(
        { sort: key, order: on && order === "desc" ? "asc" : "desc", offset: "" }) }, h, on ? (order === "asc" ? " ▲" : " ▼") : ""));
  };
  return el("div", { class: "table" }, exportLinks(headers, rows),
    el("table", {}, el("thead", {}, el("tr", {}, headers.map(head))),
      el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", {}, c)))))));
}

function pager(page, shown, go, { empty = "", order = "newest first", back = "← newer", on = "older →" } = {}) {
  // "21-40 of 95" with back/on buttons: `page` is an API answer's {offset, limit, total}, `go(offset)` moves.
  const last = Math.min(page.offset + shown, page.total);
  return el("p", { class: "muted" }, page.total ? `${page.offset + 1}-${last} of ${page.total}${order ? `, ${order}` : ""} ` : empty,
    page.offset > 0 ? el("button", { type: "button", class: "newer", onclick: () => go(Math.max(0, page.offset - page.limit)) }, back) : null,
    last < page.total ? el("button", { type: "button", class: "older", onclick: () => go(page.offset + page.limit) }, on) : null);
}

function hashWith(view, want, changes) {
  // The view's URL with some of its parameters changed ("" removes one): filters and pages live in the URL.
  const next = new URLSearchParams(want);
  for (const [k, v] of Object.entries(changes)) { if (v === "" || v === null) next.delete(k); else next.set(k, String(v)); }
  location.hash = `#/${view}?${next.toString()}`;
}

function exportLinks(headers, rows) {
  // Any table as CSV or JSON, as shown (a paged table: this page). A cell starting with = + - @ is
  // prefixed with ' in the CSV: post texts are written by the people investigated, and a spreadsheet
  // would run them as formulas.
  const text = (c) => (c === null || c === undefined || c === false ? "" : c instanceof Node ? c.textContent
    : Array.isArray(c) ? c.flat(Infinity).map(text).join("") : String(c)).trim();
  const data = rows.map((r) => r.map(text));
  const names = headers.map((h, i) => h || `column ${i + 1}`);
  const cell = (v) => { const safe = /^[=+\-@]/.test(v) ? `'${v}` : v; return /[",\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe; };
  const csv = [names, ...data].map((r) => r.map(cell).join(",")).join("\n") + "\n";
  const json = JSON.stringify(data.map((r) => Object.fromEntries(names.map((h, i) => [h, r[i]]))), null, 1);
  const save = (body, type, ext) => (event) => {
    event.preventDefault();
    const a = el("a", { href: URL.createObjectURL(new Blob([body], { type })), download: `tgsweep-${location.hash.slice(2).split(/[/?]/)[0] || "table"}.${ext}` });
    document.body.append(a); a.click(); a.remove();
  };
  return el("div", { class: "exports muted" }, "export this table: ",
    el("a", { href: "#", class: "export-csv", onclick: save(csv, "text/csv", "csv") }, "CSV"), " · ",
    el("a", { href: "#", class: "export-json", onclick: save(json, "application/json", "json") }, "JSON"));
}

function reasonsList(reasons) {
  if (!reasons || !reasons.length) return el("p", { class: "muted" }, "no reasons recorded");
  return el("ul", { class: "reasons" }, reasons.map((r) => el("li", {}, r)));
}

function notes(list) {
  return (list || []).map((n) => el("p", { class: "note" }, n));
}

// -- routing --------------------------------------------------------------------------------------

async function route() {
  const [hash, query] = (location.hash || "#/queue").split("?");  // filters ride in the URL: a view can be sent
  const [, view, ...rest] = hash.split("/");
  const arg = decodeURIComponent(rest.join("/"));
  const params = new URLSearchParams(query || "");
  document.querySelectorAll("header nav a").forEach((a) => a.classList.toggle("active", a.getAttribute("href") === `#/${view}`));
  const graphView = document.getElementById("view-graph");
  const page = document.getElementById("view-page");
  if (view === "graph" || !view) {
    graphView.hidden = false;
    page.hidden = true;
    if (!explorer.cy) { applyGraphUrl(params); await loadGraph(); }
    else explorer.cy.resize();
    return;
  }
  graphView.hidden = true;
  page.hidden = false;
  page.replaceChildren(el("section", { class: "page" }, el("p", { class: "muted" }, "loading…")));
  const render = { channel: channelPage, channels: channelsPage, bot: botPage, bots: botsPage, alerts: alertsPage, cluster: clusterPage, search: searchPage, known: knownPage, queue: queuePage }[view];
  try {
    page.replaceChildren(el("section", { class: "page", id: `page-${view}` }, await (render ? render(arg, params) : notFound(view))));
  } catch (error) {
    page.replaceChildren(el("section", { class: "page" }, el("p", { class: "error" }, error.message)));
  }
}

async function notFound(view) {
  return el("p", { class: "error" }, `no page ${view}`);
}

// -- the graph --------------------------------------------------------------------------------------

const KIND_COLOUR = { channel: "#4a78c2", bot: "#8a8f99", media: "#ef9a1a", account: "#8e44ad" };
const LABEL_COLOUR = { deepfake_generator: "#c62828", benign: "#43a047" };
const EDGE_COLOUR = { forwarded_from: "#8d99ae", links_to: "#b0b8c8", promotes: "#d98c8c", posted: "#f0c27a",
  mirror_of: "#c62828", authored_by: "#b39ddb" };
// More edges than this are drawn on a canvas layer under the nodes instead of as cytoscape elements:
// cytoscape spends most of its start-up on edge elements (about 10 s for 50,000 in headless Chromium),
// a canvas draws 50,000 segments in a few tens of milliseconds. Nodes stay cytoscape elements. At 4,000
// the landing view of a 100,000-edge store (2,138 nodes, 3,437 edges) took 1 s more to draw than at
// 1,500 (bench_explorer.py --workbench); below it, edges keep their hover details and arrows.
const EDGE_ELEMENTS_MAX = 1500;
// More nodes than this: the nodes too are drawn on that canvas (the "overview"), and cytoscape keeps
// the viewport (pan, zoom, taps); a click finds its node in a grid. Cytoscape needs about 2.5 s for
// 10,000 node elements, the canvas 20 ms. Filters that narrow the graph bring cytoscape's own back.
const NODE_ELEMENTS_MAX = 3000;

function nodeColour(n) {
  return (n.kind === "bot" && LABEL_COLOUR[n.label]) || KIND_COLOUR[n.kind] || "#999";
}

function graphStyle(big) {
  // data() fields only (colour and size precomputed), and for a big graph no labels or rings:
  // cytoscape styles 10,000 nodes fastest that way (escalation still shows as size).
  const node = big ? { "background-color": "data(colour)", width: "data(size)", height: "data(size)", label: "data(shown)",
        "font-size": 9, color: "#333", "text-valign": "bottom", "text-margin-y": 2 }
    : { "background-color": "data(colour)", width: "data(size)", height: "data(size)",
        "border-width": "data(ring)", "border-color": "#b71c1c", label: "data(shown)", "font-size": 9,
        color: "#333", "text-valign": "bottom", "text-margin-y": 2 };
  return [
    { selector: "node", style: node },
    { selector: "node.label-top", style: { "text-valign": "top", "text-margin-y": -2 } },
    { selector: "node.label-right", style: { "text-valign": "center", "text-halign": "right", "text-margin-x": 2, "text-margin-y": 0 } },
    { selector: "node.label-left", style: { "text-valign": "center", "text-halign": "left", "text-margin-x": -2, "text-margin-y": 0 } },
    { selector: "node:selected", style: { label: "data(name)", "border-width": 3, "border-color": "#111", "z-index": 10,
      "font-size": 12, "min-zoomed-font-size": 0, "text-background-color": "#fff", "text-background-opacity": 0.8 } },
    { selector: "edge", style: {
      width: "mapData(count, 1, 20, 1, 5)", "line-color": "data(colour)", "target-arrow-color": "data(colour)",
      "target-arrow-shape": "triangle", "arrow-scale": 0.7, "curve-style": big ? "haystack" : "bezier", opacity: 0.7 } },
    { selector: "edge[kind = 'mirror_of']", style: { "line-style": "dashed", width: 2 } },
    { selector: ".on-path", style: { "border-width": 4, "border-color": "#ff9800", "line-color": "#ff9800",
      "target-arrow-color": "#ff9800", opacity: 1, "z-index": 20, label: "data(name)" } },
  ];
}

function placeLabels(nodes, order, zoom, pan, w, h, fontPx, max = 500) {
  // Which names to draw: nodes taken most escalated first (`order`), each name a box under its node
  // at screen size; a name that would overlap one already placed is left out, so the names that
  // matter are the ones that stay readable. Returns [index, [x1, y1, x2, y2]] in screen pixels.
  const cell = 64, grid = new Map(), out = [];
  const cells = (b, add) => {
    for (let gx = Math.floor(b[0] / cell); gx <= Math.floor(b[2] / cell); gx++) {
      for (let gy = Math.floor(b[1] / cell); gy <= Math.floor(b[3] / cell); gy++) {
        const key = `${gx},${gy}`;
        if (add) { if (!grid.has(key)) grid.set(key, []); grid.get(key).push(b); continue; }
        for (const o of grid.get(key) || []) if (b[0] < o[2] && o[0] < b[2] && b[1] < o[3] && o[1] < b[3]) return true;
      }
    }
    return false;
  };
  for (const i of order) {
    if (out.length >= max) break;
    const n = nodes[i], sx = n.x * zoom + pan.x, sy = n.y * zoom + pan.y;
    if (sx < 0 || sx > w || sy < 0 || sy > h) continue;
    const lw = n.name.length * 0.58 * fontPx + 4, lh = fontPx * 1.3, rs = n.r * zoom;
    const spots = { bottom: [sx - lw / 2, sy + rs + 1, sx + lw / 2, sy + rs + 1 + lh],  // below first, then around
      top: [sx - lw / 2, sy - rs - 1 - lh, sx + lw / 2, sy - rs - 1],
      right: [sx + rs + 2, sy - lh / 2, sx + rs + 2 + lw, sy + lh / 2],
      left: [sx - rs - 2 - lw, sy - lh / 2, sx - rs - 2, sy + lh / 2] };
    const free = Object.entries(spots).find(([, box]) => !cells(box, false));
    if (!free) continue;
    cells(free[1], true);
    out.push([i, free[1], free[0]]);
  }
  return out;
}

function importance(nodes) {
  // the order names are placed in: most escalated first, then biggest
  return nodes.map((_, i) => i).sort((a, b) => (nodes[b].escalation || 0) - (nodes[a].escalation || 0) || nodes[b].r - nodes[a].r);
}

class EdgeLayer {
  // The edges of a big graph, drawn on a canvas under cytoscape's, following its pan and zoom.
  constructor(cy, canvas, nodes, edges, withNodes) {
    this.cy = cy;
    this.canvas = canvas;
    this.index = new Map();
    this.xy = new Float64Array(nodes.length * 2);
    nodes.forEach((n, i) => { this.index.set(n.id, i); this.xy[2 * i] = n.x; this.xy[2 * i + 1] = n.y; });
    this.nodes = withNodes ? nodes.map((n) => ({ id: n.id, name: n.name, colour: nodeColour(n), x: n.x, y: n.y,
      escalation: n.escalation || 0, r: (10 + 26 * (n.escalation || 0)) / 2 })) : null;
    if (withNodes) {
      this.cell = 40;
      this.grid = new Map();
      nodes.forEach((n, i) => {
        const key = `${Math.floor(n.x / this.cell)},${Math.floor(n.y / this.cell)}`;
        if (!this.grid.has(key)) this.grid.set(key, []);
        this.grid.get(key).push(i);
      });
    }
    const byKind = new Map();
    this.ends = new Int32Array(edges.length * 2);
    edges.forEach((e, i) => {
      const s = this.index.get(e.source), t = this.index.get(e.target);
      this.ends[2 * i] = s; this.ends[2 * i + 1] = t;
      if (!byKind.has(e.kind)) byKind.set(e.kind, []);
      byKind.get(e.kind).push(i);
    });
    this.kinds = [...byKind.entries()].map(([kind, list]) => [EDGE_COLOUR[kind] || "#9aa6b8", Int32Array.from(list)]);
    this.selected = null;
    this.incident = null;
    this.pending = false;
    canvas.hidden = false;
    cy.on("viewport resize", () => this.schedule());
    // Selection is drawn here (a halo and the node's edges), not by cytoscape: re-styling a selected
    // node makes it redraw all 10,000, a click's answer would wait for that.
    cy.on("tap", (event) => this.select(event.target !== cy && event.target.isNode() ? event.target.id() : null));
    const idle = window.requestIdleCallback || ((f) => setTimeout(f, 50));
    idle(() => this.buildIncident());
  }

  hit(position) {  // the node under a tap (model coordinates), or -1
    const zoom = this.cy.zoom(), cx = Math.floor(position.x / this.cell), cy = Math.floor(position.y / this.cell);
    let best = -1, bestD = Infinity;
    for (let gx = cx - 1; gx <= cx + 1; gx++) {
      for (let gy = cy - 1; gy <= cy + 1; gy++) {
        for (const i of this.grid.get(`${gx},${gy}`) || []) {
          const dx = this.xy[2 * i] - position.x, dy = this.xy[2 * i + 1] - position.y, d = dx * dx + dy * dy;
          const r = Math.max(this.nodes[i].r, 4 / zoom);
          if (d <= r * r && d < bestD) { best = i; bestD = d; }
        }
      }
    }
    return best;
  }

  fit(padding) {  // cytoscape's fit, for points it does not hold
    let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
    for (let i = 0; i < this.xy.length; i += 2) {
      x1 = Math.min(x1, this.xy[i]); x2 = Math.max(x2, this.xy[i]);
      y1 = Math.min(y1, this.xy[i + 1]); y2 = Math.max(y2, this.xy[i + 1]);
    }
    const w = this.cy.width(), h = this.cy.height();
    const zoom = Math.min((w - 2 * padding) / Math.max(x2 - x1, 1), (h - 2 * padding) / Math.max(y2 - y1, 1));
    this.cy.viewport({ zoom, pan: { x: w / 2 - ((x1 + x2) / 2) * zoom, y: h / 2 - ((y1 + y2) / 2) * zoom } });
  }

  setColour(id, colour) {
    const i = this.index.get(id);
    if (this.nodes && i !== undefined) { this.nodes[i].colour = colour; this.schedule(); }
  }

  screenPosition(id) {
    const i = this.index.get(id), zoom = this.cy.zoom(), pan = this.cy.pan();
    return { x: this.xy[2 * i] * zoom + pan.x, y: this.xy[2 * i + 1] * zoom + pan.y };
  }

  buildIncident() {
    if (this.incident) return;
    this.incident = new Map();
    for (let i = 0; i < this.ends.length; i++) {
      const node = this.ends[i];
      let list = this.incident.get(node);
      if (!list) this.incident.set(node, (list = []));
      list.push(i >> 1);
    }
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.draw(); });
  }

  select(id) {
    if (id !== null) this.buildIncident();
    this.selected = id === null ? null : this.index.get(id);
    this.schedule();
  }

  stroke(ctx, list) {
    const xy = this.xy, ends = this.ends;
    ctx.beginPath();
    for (const i of list) {
      const s = ends[2 * i], t = ends[2 * i + 1];
      ctx.moveTo(xy[2 * s], xy[2 * s + 1]);
      ctx.lineTo(xy[2 * t], xy[2 * t + 1]);
    }
    ctx.stroke();
  }

  draw() {
    const cy = this.cy, canvas = this.canvas, w = cy.width(), h = cy.height();
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const zoom = cy.zoom(), pan = cy.pan();
    ctx.setTransform(zoom, 0, 0, zoom, pan.x, pan.y);
    ctx.lineWidth = 0.7 / zoom;
    ctx.globalAlpha = 0.45;
    for (const [colour, list] of this.kinds) { ctx.strokeStyle = colour; this.stroke(ctx, list); }
    if (this.selected !== null && this.selected !== undefined) {  // under the nodes
      ctx.globalAlpha = 1;
      ctx.lineWidth = 2 / zoom;
      ctx.strokeStyle = "#111";
      this.stroke(ctx, this.incident.get(this.selected) || []);
      const x = this.xy[2 * this.selected], y = this.xy[2 * this.selected + 1];
      ctx.beginPath();
      ctx.arc(x, y, Math.max(14, 10 / zoom), 0, 2 * Math.PI);
      ctx.fillStyle = "rgba(255, 196, 0, 0.55)";
      ctx.fill();
    }
    if (this.nodes) {
      ctx.globalAlpha = 1;
      const byColour = new Map();
      this.nodes.forEach((n, i) => {
        if (!byColour.has(n.colour)) byColour.set(n.colour, []);
        byColour.get(n.colour).push(i);
      });
      for (const [colour, list] of byColour) {
        ctx.fillStyle = colour;
        ctx.beginPath();
        for (const i of list) {
          const x = this.xy[2 * i], y = this.xy[2 * i + 1], r = this.nodes[i].r;
          ctx.moveTo(x + r, y);
          ctx.arc(x, y, r, 0, 2 * Math.PI);
        }
        ctx.fill();
      }
      // names of the nodes in view that do not overlap, most escalated first
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.fillStyle = "#333";
      ctx.font = "10px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "top";
      this.order = this.order || importance(this.nodes);
      explorer.labels = placeLabels(this.nodes, this.order, zoom, pan, w, h, 10, zoom >= 1.2 ? 600 : 40);
      for (const [i, box] of explorer.labels) ctx.fillText(this.nodes[i].name, (box[0] + box[2]) / 2, box[1] + 1);
    }
  }

  destroy() {
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.canvas.hidden = true;
  }
}

function filterParams() {
  const params = new URLSearchParams({ compact: "1" });
  const esc = parseFloat(document.getElementById("f-esc").value || "0");
  if (esc > 0) params.set("min_escalation", String(esc));
  const community = document.getElementById("f-community").value;
  if (community !== "") params.set("community", community);
  const boxes = [...document.querySelectorAll("#f-kinds input")];
  const kinds = boxes.filter((b) => b.checked).map((b) => b.value);
  if (kinds.length && kinds.length < boxes.length) params.set("kind", kinds.join(","));
  const since = document.getElementById("f-since").value;
  const until = document.getElementById("f-until").value;
  if (since) params.set("since", since);
  if (until) params.set("until", until);
  const focus = document.getElementById("f-focus").value;
  if (focus === "escalated") params.set("focus", "escalated");
  else if (focus === "selected" && explorer.selected) params.set("focus", explorer.selected);
  if (focus !== "all") params.set("hops", document.getElementById("f-hops").value || "1");
  return params;
}

function graphUrlState(params) {
  // The graph's filters in the address bar (#/graph?...), so a view can be bookmarked and sent.
  const shown = new URLSearchParams(params);
  shown.delete("compact");
  if (!shown.has("focus")) shown.set("focus", "all");
  const next = `#/graph?${shown.toString()}`;
  if (location.hash !== next) history.replaceState(null, "", next);
}

function applyGraphUrl(params) {
  // The other way: a bookmarked #/graph?... fills the form before the first load.
  const focus = params.get("focus");
  const box = document.getElementById("f-focus");
  if (focus === "all") box.value = "all";
  else if (focus && focus !== "escalated") { box.value = "selected"; explorer.selected = focus; }
  else box.value = "escalated";
  if (params.get("hops")) document.getElementById("f-hops").value = params.get("hops");
  if (params.get("min_escalation")) document.getElementById("f-esc").value = params.get("min_escalation");
  if (params.get("since")) document.getElementById("f-since").value = params.get("since");
  if (params.get("until")) document.getElementById("f-until").value = params.get("until");
  const kinds = (params.get("kind") || "").split(",").filter(Boolean);
  if (kinds.length) document.querySelectorAll("#f-kinds input").forEach((b) => { b.checked = kinds.includes(b.value); });
}

function warmUp() {
  if (explorer.warmed) return;
  explorer.warmed = true;
  const box = el("div", { style: "position:absolute;left:-2000px;top:0;width:300px;height:300px" });
  document.body.append(box);
  const elements = [];
  for (let i = 0; i < 400; i++) {
    elements.push({ group: "nodes", position: { x: (i % 20) * 15, y: Math.floor(i / 20) * 15 },
      data: { id: `w${i}`, colour: "#999", size: 10, ring: 0, name: "" } });
    if (i) elements.push({ group: "edges", data: { source: `w${i}`, target: `w${i >> 1}`, colour: "#999", count: 1 } });
  }
  const cy = cytoscape({ container: box, elements, style: graphStyle(true), layout: { name: "preset" }, pixelRatio: 1 });
  cy.one("render", () => setTimeout(() => { cy.destroy(); box.remove(); }, 0));
}

async function loadGraph() {
  const status = document.getElementById("graph-status");
  const started = performance.now();
  explorer.ready = false;
  status.textContent = "loading the graph…";
  let data;
  try {
    const wanted = filterParams();
    graphUrlState(wanted);
    const gexf = new URLSearchParams(wanted);
    gexf.set("format", "gexf");
    gexf.delete("compact");
    document.getElementById("gexf-link").setAttribute("href", `/api/graph?${gexf.toString()}`);
    const answer = api("/api/graph?" + wanted.toString());
    warmUp();  // while the server answers: cytoscape's code gets compiled on a small graph
    data = await answer;
  } catch (error) {
    status.replaceChildren(el("span", { class: "error" }, error.message));
    return;
  }
  explorer.timings.fetched = performance.now() - started;
  const communities = document.getElementById("f-community");
  if (communities.options.length <= 1) {
    for (const [id, size] of data.communities || []) communities.append(el("option", { value: id }, `${id} (${size})`));
  }
  const big = data.nodes.length > 1500;
  const query = new URLSearchParams(location.search);
  const useCose = query.get("layout") === "cose";  // the benchmark's baseline: cytoscape lays out in the browser
  const layered = data.edges.length > EDGE_ELEMENTS_MAX && !useCose && query.get("edges") !== "elements";
  const overview = layered && data.nodes.length > NODE_ELEMENTS_MAX && query.get("nodes") !== "elements";
  const elements = new Array((overview ? 0 : data.nodes.length) + (layered ? 0 : data.edges.length));
  let i = 0;
  for (const n of overview ? [] : data.nodes) {
    elements[i++] = { group: "nodes", position: { x: n.x, y: n.y }, data: { id: n.id, kind: n.kind, label: n.label,
      name: n.name, shown: "", escalation: n.escalation, colour: nodeColour(n), size: 10 + 26 * (n.escalation || 0),
      ring: n.escalation >= 0.5 ? 3 : 0 } };
  }
  if (!layered) {
    for (const e of data.edges) {
      elements[i++] = { group: "edges", data: { source: e.source, target: e.target, kind: e.kind, count: e.count,
        colour: EDGE_COLOUR[e.kind] || "#9aa6b8" } };
    }
  }
  if (explorer.edgeLayer) { explorer.edgeLayer.destroy(); explorer.edgeLayer = null; }
  if (explorer.cy) explorer.cy.destroy();
  const cy = cytoscape({
    container: document.getElementById("cy"), elements, style: graphStyle(big),
    layout: { name: "preset", fit: true, padding: 20 },
    textureOnViewport: big && !layered, hideEdgesOnViewport: big, motionBlur: false, pixelRatio: big ? 1 : "auto",
    boxSelectionEnabled: false, autoungrabify: big || layered, autounselectify: layered, minZoom: 0.02, maxZoom: 8,
  });
  explorer.cy = cy;
  if (layered) {
    explorer.edgeLayer = new EdgeLayer(cy, document.getElementById("edge-layer"), data.nodes, data.edges, overview);
  }
  explorer.overview = overview;
  if (!overview) {  // names that do not overlap, placed again after each pan or zoom
    const nodes = cy.nodes().map((n) => ({ n, name: n.data("name"), escalation: n.data("escalation") || 0,
      r: n.data("size") / 2, x: n.position("x"), y: n.position("y") }));
    const order = importance(nodes);
    let timer = null;
    const place = () => {
      timer = null;
      const fontPx = 9 * cy.zoom();
      explorer.labels = fontPx < 6 ? [] : placeLabels(nodes, order, cy.zoom(), cy.pan(), cy.width(), cy.height(), fontPx);
      const shown = new Map(explorer.labels.map(([i, , spot]) => [i, spot]));
      cy.batch(() => nodes.forEach((m, i) => {
        const want = shown.has(i) ? m.name : "", spot = shown.get(i) || "bottom";
        if (m.n.data("shown") !== want) m.n.data("shown", want);
        if (m.spot !== spot) { m.n.removeClass(`label-${m.spot || "bottom"}`).addClass(`label-${spot}`); m.spot = spot; }
      }));
    };
    explorer.placeLabels = place;
    cy.on("viewport", () => { if (!timer) timer = setTimeout(place, 120); });
    cy.one("render", place);
  }
  explorer.timings.built = performance.now() - started;
  cy.on("tapstart", () => { explorer.timings.tapstart = performance.now(); });
  cy.on("tap", "node", (event) => { explorer.timings.tap = performance.now(); showDetails(event.target.id()); });
  // an edge: hover says what it is; a click shows it, with the posts behind it, in the details panel
  cy.on("mouseover", "edge", (event) => {
    const e = event.target.data();
    const tip = document.getElementById("edge-tip");
    tip.textContent = `${e.kind}: ${e.source} → ${e.target}, ${e.count} post(s) (click for the posts and dates)`;
    tip.hidden = false;
  });
  cy.on("mouseout", "edge", () => { document.getElementById("edge-tip").hidden = true; });
  cy.on("tap", "edge", (event) => showEdge(event.target.data("source"), event.target.data("target")));
  if (overview) {
    cy.on("tap", (event) => {
      if (event.target !== cy) return;
      const layer = explorer.edgeLayer, hit = layer.hit(event.position);
      if (hit < 0) return;
      explorer.timings.tap = performance.now();
      layer.select(layer.nodes[hit].id);
      showDetails(layer.nodes[hit].id);
    });
  }
  const done = () => {
    if (explorer.edgeLayer) explorer.edgeLayer.draw();
    explorer.timings.drawn = performance.now() - started;
    explorer.ready = true;
    document.body.dataset.graphReady = "1";
  };
  const finish = () => {
    if (overview) {  // cytoscape holds no elements: draw at the next frame
      explorer.edgeLayer.fit(20);
      requestAnimationFrame(done);
      return;
    }
    cy.one("render", () => requestAnimationFrame(done));
    cy.fit(undefined, 20);
  };
  if (useCose) {
    const layout = cy.layout({ name: "cose", animate: false, fit: true, randomize: true });
    layout.one("layoutstop", finish);
    layout.run();
  } else {
    finish();
  }
  status.replaceChildren(
    `${data.nodes.length} nodes, ${data.edges.length} edges` +
      (overview ? " (overview: drawn as one picture; zoom in for names, click a node for its details and edges; filters narrow it down)"
        : layered ? " (edges drawn as one layer: click a node to see its own)" : "") +
      (data.truncated ? ` (filtered from ${data.total_nodes} nodes, ${data.total_edges} edges: the most escalated first; narrow the filters)` : ""),
    ...notes(data.notes));
}

explorer.nodeScreenPosition = (id) => {  // for tests: where to click a node
  const box = explorer.cy.container().getBoundingClientRect();
  const p = explorer.overview ? explorer.edgeLayer.screenPosition(id) : explorer.cy.getElementById(id).renderedPosition();
  return { x: box.left + p.x, y: box.top + p.y, visible: p.x >= 0 && p.y >= 0 && p.x <= box.width && p.y <= box.height };
};

async function showEdge(source, target) {
  const panel = document.getElementById("details");
  try {
    const found = await api(`/api/edge?source=${encodeURIComponent(source)}&target=${encodeURIComponent(target)}`);
    panel.replaceChildren(el("div", { id: "edge-details" }, el("h3", {}, "Edges between ", nodeLink(source), " and ", nodeLink(target)),
      table(["kind", "from", "posts", "first", "last", "the posts behind it"], found.edges.map((e) => [
        e.kind, e.source, e.count, day(e.first_seen), day(e.last_seen),
        e.posts.slice(0, 20).map((p) => [tme(p.url, p.post), " "])]))));
  } catch (error) { panel.replaceChildren(el("p", { class: "error" }, error.message)); }
}

async function showPath(from, to) {
  // A shortest path (edges either way) between two nodes, drawn on the graph and listed.
  const message = document.getElementById("path-message");
  try {
    const found = await api(`/api/path?source=${encodeURIComponent(from)}&target=${encodeURIComponent(to)}`);
    if (explorer.cy) {
      explorer.cy.elements().removeClass("on-path");
      for (const id of found.nodes) explorer.cy.getElementById(id).addClass("on-path");
      found.nodes.slice(1).forEach((id, i) => explorer.cy.edges(`[source = "${found.nodes[i]}"][target = "${id}"], [source = "${id}"][target = "${found.nodes[i]}"]`).addClass("on-path"));
    }
    message.replaceChildren(`${found.nodes.length - 1} step(s): `, found.nodes.map((id, i) => [i ? " → " : "", nodeLink(id)]));
  } catch (error) { message.textContent = error.message; }
}

function pathForm(id) {
  const to = el("input", { id: "path-to", placeholder: "channel:name or bot:name" });
  return el("form", { class: "path", onsubmit: (event) => { event.preventDefault(); showPath(id, to.value.trim()); } },
    el("label", {}, "path to ", to), el("button", { type: "submit", id: "path-go" }, "Find"), el("p", { class: "muted", id: "path-message" }));
}

async function showDetails(id) {
  explorer.selected = id;  // "show: around the selected node" expands from here
  const panel = document.getElementById("details");
  panel.replaceChildren(el("p", { class: "muted" }, `loading ${id}…`));
  const [kind, name] = [id.split(":")[0], id.slice(id.indexOf(":") + 1)];
  try {
    let body;
    if (kind === "bot") body = botSummary(await api(`/api/bots/${encodeURIComponent(name)}`), true);
    else if (kind === "channel") body = channelSummary(await api(`/api/channels/${encodeURIComponent(name)}`));
    else if (kind === "media") body = clusterSummary(await api(`/api/clusters/${encodeURIComponent(name)}`));
    else body = el("p", {}, id);
    panel.replaceChildren(el("div", { id: "details-body", "data-node": id }, body, pathForm(id)));
    explorer.timings.details = performance.now();
  } catch (error) {
    panel.replaceChildren(el("p", { class: "error" }, `${id}: ${error.message}`));
  }
}

// -- summaries (details panel) and pages ----------------------------------------------------------------

function escalationBlock(esc) {
  if (!esc) return el("p", { class: "muted" }, "not escalated (no escalation score computed)");
  return el("div", {}, el("p", {}, `escalation ${score(esc.score)}`, esc.community !== null && esc.community !== undefined ? `, community ${esc.community}` : "",
    esc.pagerank !== undefined && esc.pagerank !== null ? `, pagerank ${Number(esc.pagerank).toFixed(4)}` : ""), reasonsList(esc.reasons));
}

function channelSummary(c) {
  return el("div", {},
    el("h3", {}, nodeLink(c.node, `@${c.username}`), " ", el("span", { class: "muted" }, c.profile.title || "")),
    el("p", {}, `${c.posts} posts · ${c.bots_promoted.length} bots promoted · ${c.media.total} media · `,
      `${c.forwards_in.length} channels forward it, it forwards ${c.forwards_out.length}`),
    el("h4", {}, "Escalation"), escalationBlock(c.escalation),
    el("p", {}, el("a", { href: `#/channel/${encodeURIComponent(c.username)}` }, "open the channel page →")));
}

function activityChart(activity) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "activity");
  if (!activity.length) return el("p", { class: "muted" }, "no dated posts");
  const first = Date.parse(activity[0].day), last = Date.parse(activity[activity.length - 1].day);
  const days = Math.round((last - first) / 86400000) + 1;
  const weekly = days > 400;
  const buckets = new Map();
  for (const a of activity) {
    const d = Math.round((Date.parse(a.day) - first) / 86400000);
    const b = weekly ? Math.floor(d / 7) : d;
    buckets.set(b, (buckets.get(b) || 0) + a.posts);
  }
  const n = weekly ? Math.ceil(days / 7) : days;
  const max = Math.max(...buckets.values());
  const W = 1000, H = 120, bw = W / n;
  svg.setAttribute("viewBox", `0 0 ${W} ${H + 18}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `posts per ${weekly ? "week" : "day"}`);
  for (const [b, count] of buckets) {
    const r = document.createElementNS(ns, "rect");
    const h = Math.max(1, (count / max) * H);
    r.setAttribute("x", String(b * bw));
    r.setAttribute("y", String(H - h));
    r.setAttribute("width", String(Math.max(bw * 0.85, 1)));
    r.setAttribute("height", String(h));
    const t = document.createElementNS(ns, "title");
    t.textContent = `${new Date(first + b * (weekly ? 7 : 1) * 86400000).toISOString().slice(0, 10)}: ${count} post(s)`;
    r.append(t);
    svg.append(r);
  }
  for (const [x, text, anchor] of [[2, activity[0].day, "start"], [W - 2, activity[activity.length - 1].day, "end"]]) {
    const t = document.createElementNS(ns, "text");
    t.setAttribute("x", String(x)); t.setAttribute("y", String(H + 14)); t.setAttribute("text-anchor", anchor);
    t.textContent = text;
    svg.append(t);
  }
  return el("div", {}, svg, el("p", { class: "muted" }, `posts per ${weekly ? "week" : "day"}, most ${max}`));
}

function mediaPreview(item) {
  if (!item.preview) {
    return el("span", { class: "muted" }, explorer.info && explorer.info.hash_only ? "hash-only: no image" : "no preview");
  }
  const img = el("img", { src: item.preview, alt: "blurred preview", loading: "lazy", title: "blurred preview" });
  // unblurring is recorded in the store (who, when); re-blur puts the blurred preview back
  const button = el("button", { type: "button", class: "unblur", onclick: () => {
    if (img.dataset.revealed) {
      img.src = item.preview;
      img.title = "blurred preview";
      delete img.dataset.revealed;
      button.textContent = "Unblur this one";
      return;
    }
    if (!confirm("Show this one picture unblurred? It may be harmful material. The reveal is recorded with your name.")) return;
    img.src = item.preview + "?unblur=1";
    img.title = "unblurred on request";
    img.dataset.revealed = "1";
    button.textContent = "Re-blur";
  } }, "Unblur this one");
  return el("div", { class: "preview" }, img, el("br"), button);
}

function matchesCell(matches) {
  if (!matches || !matches.length) return "–";
  return el("ul", {}, matches.map((m) => el("li", {}, `${m.bank}${m.label ? ` (${m.label})` : ""}: ${m.tier}, ${m.hash_type} distance ${m.distance}`)));
}

async function channelPage(username) {
  const c = await api(`/api/channels/${encodeURIComponent(username)}`);
  const p = c.profile;
  const auto = c.automation;
  return [
    el("h2", {}, `@${c.username} `, el("span", { class: "muted" }, p.title || "")),
    el("p", {}, tme(`https://t.me/s/${c.username}`, `t.me/s/${c.username}`), ` · ${fmt(p.kind)} · ${c.posts} posts collected`,
      p.watched ? " · watched" : "", p.discovered_from ? ` · discovered from ${p.discovered_from}` : "",
      ` · first seen ${day(p.first_seen)}, last seen ${day(p.last_seen)}`),
    p.description ? el("p", { class: "muted" }, p.description) : null,
    el("h3", {}, "Escalation"), escalationBlock(c.escalation),
    el("h3", {}, "Automation"),
    auto ? el("div", {}, el("p", {}, `automation score ${score(auto.score)}`), reasonsList(auto.reasons))
      : el("p", { class: "muted" }, "no automation score computed"),
    el("h3", {}, "Activity"), activityChart(c.activity),
    el("h3", {}, "Forwards out (this channel forwards from)"),
    table(["channel", "posts", "first", "last"], c.forwards_out.map((f) => [nodeLink(`channel:${f.channel}`, `@${f.channel}`), f.posts, day(f.first), day(f.last)])),
    el("h3", {}, "Forwards in (channels forwarding this one)"),
    table(["channel", "posts", "first", "last"], c.forwards_in.map((f) => [nodeLink(`channel:${f.channel}`, `@${f.channel}`), f.posts, day(f.first), day(f.last)])),
    el("h3", {}, "Links and mentions"),
    table(["direction", "channel", "how", "posts"], [
      ...c.links_out.map((l) => ["out", nodeLink(`channel:${l.channel}`, `@${l.channel}`), l.how, l.posts]),
      ...c.links_in.map((l) => ["in", nodeLink(`channel:${l.channel}`, `@${l.channel}`), l.how, l.posts])]),
    el("h3", {}, "Bots it promotes"),
    table(["bot", "verdict", "posts", "how", "referral codes", "first", "last"], c.bots_promoted.map((b) => [
      nodeLink(`bot:${b.bot}`, `@${b.bot}`), el("span", {}, labelSpan(b.label), ` ${score(b.score)}`), b.posts, b.how.join(", "),
      b.referral_codes.length ? el("code", {}, b.referral_codes.join(", ")) : "–", day(b.first), day(b.last)])),
    el("h3", {}, `Media it posted (${c.media.total}; previews blurred)`),
    table(["preview", "post", "kind", "hashes", "cluster", "bank matches"], c.media.items.map((m) => [
      mediaPreview(m), tme(m.url, m.post), m.kind,
      el("div", { class: "hash" }, `sha256 ${m.sha256}`, m.pdq ? el("br") : null, m.pdq ? `pdq ${m.pdq}` : null),
      m.cluster ? el("span", {}, nodeLink(`media:${m.cluster}`, m.cluster), ` · ${fmt(m.cluster_files)} files, ${fmt(m.cluster_appearances)} posts, ${m.cluster_channels} channels`) : "–",
      matchesCell(m.bank_matches)])),
    await postsSection("channels", c.username),
    await caseLog(`channel:${c.username}`),
  ];
}

async function postsSection(kind, name, offset = 0, sort = "date", order = "desc") {
  // The posts themselves (text as text, never HTML), newest first (or sorted by views or forwards on the
  // server), a page at a time, each linked to t.me.
  const want = new URLSearchParams({ offset, sort, order });
  const page = await api(`/api/${kind}/${encodeURIComponent(name)}/posts?${want.toString()}`);
  const box = el("div", { class: "posts", "data-offset": String(offset) });
  const go = async (to) => box.replaceWith(await postsSection(kind, name, to, sort, order));
  const sorting = { want, sort: "date", keys: { date: "date", views: "views", forwards: "forwards" },
    go: async (c) => box.replaceWith(await postsSection(kind, name, 0, c.sort, c.order)) };
  box.append(el("h3", {}, kind === "bots" ? `Posts that reference it (${page.total})` : `Posts (${page.total})`),
    pager(page, page.posts.length, go, { empty: "none collected", order: sort === "date" && order === "desc" ? "newest first" : `by ${sort}, ${order === "asc" ? "lowest" : "highest"} first` }),
    table(["post", "date", "text", "views", "forwards", "bots"], page.posts.map((p) => [
      tme(p.url, `${p.channel}/${p.id}`), day(p.date),
      el("div", { class: "post-text" }, p.text || el("span", { class: "muted" }, "(no text)"),
        p.forwarded_from ? el("div", { class: "muted" }, `forwarded from ${p.forwarded_from}`) : null,
        p.edited ? el("div", { class: "muted" }, "edited") : null),
      fmt(p.views), fmt(p.forwards), p.bots.length ? p.bots.map((b) => [nodeLink(`bot:${b}`, `@${b}`), " "]) : "–"]), sorting));
  return box;
}

function decided(done) {
  // what a decision did, said plainly: the label, and the scores it moved in the same request
  const moved = (done.rescored || []).map((r) => `${r.subject} ${r.before == null ? "new" : score(r.before)} → ${score(r.after)}${r.escalated ? " (escalated)" : ""}`);
  return `@${done.username} labelled ${done.label} by ${done.by} at ${done.at}. ` +
    (moved.length ? `Re-scored now: ${moved.slice(0, 6).join("; ")}${moved.length > 6 ? `; and ${moved.length - 6} more` : ""}` +
      `${done.escalation_alerts ? `; ${done.escalation_alerts} escalation alert(s) queued` : ""}. ` +
      "Centrality and communities stay those of the last graph build." : "No post references this bot, so no score moves.");
}

function decisionForm(b, onDone) {
  const note = el("textarea", { id: "decision-note", placeholder: "why (kept with the decision; required)" });
  const message = el("p", { class: "muted", id: "decision-message" });
  // the page re-renders after a decision: the message is kept for the bot's next rendering
  const kept = explorer.flash && explorer.flash.username === b.username ? explorer.flash.text : "";
  if (kept) message.textContent = kept;
  const decide = async (decision) => {
    if (!note.value.trim()) { message.textContent = "write a note first: why?"; return; }
    try {
      const done = await post(`/api/bots/${encodeURIComponent(b.username)}/override`, { decision, note: note.value });
      message.textContent = decided(done);
      explorer.flash = { username: done.username, text: message.textContent };
      const colour = nodeColour({ kind: "bot", label: done.label });
      const node = explorer.cy && explorer.cy.getElementById(`bot:${done.username}`);
      if (node && node.nonempty()) node.data({ label: done.label, colour });
      if (explorer.edgeLayer) explorer.edgeLayer.setColour(`bot:${done.username}`, colour);
      message.dataset.done = done.label;
      if (onDone) onDone(done);
    } catch (error) {
      message.textContent = error.message;
    }
  };
  return el("div", { class: "decision" },
    el("strong", {}, "Analyst decision"), el("span", { class: "muted" }, ` (recorded as ${explorer.info ? explorer.info.analyst : "you"}; the same as tgsweep bots label)`),
    note,
    el("button", { type: "button", class: "confirm", id: "btn-confirm", onclick: () => decide("confirm") }, "Confirm: deepfake generator"),
    el("button", { type: "button", class: "reject", id: "btn-reject", onclick: () => decide("reject") }, "Reject: benign"),
    message);
}

function botSummary(b, inPanel) {
  const v = b.verdict;
  return el("div", {},
    el("h3", {}, nodeLink(b.node, `@${b.username}`), " ", el("span", { class: "muted" }, b.profile.title || "")),
    el("p", {}, "verdict ", labelSpan(v.label), ` · score ${score(v.score)}`, v.override ? ` · analyst: ${v.override.label} by ${v.override.by}` : "",
      v.auto_label && v.auto_label !== v.label ? ` · automatic: ${v.auto_label}` : ""),
    reasonsList(v.reasons.slice(0, inPanel ? 6 : 100)),
    el("p", {}, `promoted by ${b.promoted_by.length} channel(s)`, b.mirror_of.length ? ` · mirror of ${b.mirror_of.map((m) => "@" + m.bot).join(", ")}` : ""),
    decisionForm(b, () => (inPanel ? showDetails(b.node) : route())),
    inPanel ? el("p", {}, el("a", { href: `#/bot/${encodeURIComponent(b.username)}` }, "open the bot page →")) : null);
}

function mirrorRows(b) {
  // Evidence can point both ways (each announced as the other's replacement): say so rather than
  // show the same bot as both "mirror of" and "replaced by".
  const both = new Set(b.mirror_of.map((m) => m.bot).filter((x) => b.mirrored_by.some((m) => m.bot === x)));
  const row = (relation, m) => [both.has(m.bot) ? el("strong", { class: "flag" }, "mirror of each other: which replaced which is unclear") : relation,
    nodeLink(`bot:${m.bot}`, `@${m.bot}`), m.kind, m.evidence];
  return [...b.mirror_of.map((m) => row("mirror of", m)), ...b.mirrored_by.map((m) => row("replaced by", m))];
}

async function botPage(username) {
  const b = await api(`/api/bots/${encodeURIComponent(username)}`);
  const p = b.profile;
  const commands = (p.commands || []).map((c) => (typeof c === "string" ? c : `${c.command || ""} ${c.description || ""}`));
  return [
    botSummary(b, false),
    el("h3", {}, "Profile"),
    table(["", ""], [["public page", tme(p.url)], ["confirmed a bot", p.confirmed === null ? "not known" : p.confirmed ? "yes" : "no"],
      ["description", fmt(p.description)], ["about", fmt(p.about)], ["commands", commands.length ? commands.join("; ") : "–"],
      ["first seen", day(p.first_seen)], ["last seen", day(p.last_seen)]]),
    el("h3", {}, "Escalation"), escalationBlock(b.escalation),
    el("h3", {}, "Analyst decisions (newest first; the newest applies)"),
    table(["label", "note", "by", "at"], b.overrides.map((o) => [labelSpan(o.label), o.note || "–", o.by, o.at])),
    el("h3", {}, "Mirrors"),
    table(["relation", "bot", "kind", "evidence"], mirrorRows(b)),
    el("h3", {}, "Timeline"), b.activity.length ? activityChart(b.activity) : el("p", { class: "muted" }, "no dated posts"),
    el("h3", {}, "Who promotes it"),
    table(["channel", "posts", "how", "referral codes", "first", "last", "posts"], b.promoted_by.map((r) => [
      nodeLink(`channel:${r.channel}`, `@${r.channel}`), r.posts, r.how.join(", "),
      r.referral_codes.length ? el("code", {}, r.referral_codes.join(", ")) : "–", day(r.first), day(r.last),
      el("span", {}, r.post_urls.slice(-5).map((u) => [tme(u, u.split("/").pop()), " "]))])),
    await postsSection("bots", b.username),
    await caseLog(b.node),
  ];
}

async function botsPage(_, params) {
  const want = new URLSearchParams(params);
  const bots = await api(`/api/bots?${want.toString()}`);
  const sorting = { view: "bots", want, sort: "score", keys: { bot: "username", verdict: "label", score: "score", channels: "channels", posts: "posts" } };
  return [el("h2", {}, `Bots (${bots.length})`),
    table(["bot", "verdict", "score", "automatic", "analyst", "channels", "posts", "codes", "mirror of"], bots.map((b) => [
      nodeLink(`bot:${b.username}`, `@${b.username}`), labelSpan(b.label), score(b.score), fmt(b.auto_label),
      b.override ? `${b.override.label} (${b.override.by})` : "–", b.channels, b.posts,
      b.referral_codes.length ? el("code", {}, b.referral_codes.slice(0, 5).join(", ")) : "–",
      b.mirror_of.map((m) => "@" + m.bot).join(", ") || "–"]), sorting)];
}

async function channelsPage(_, params) {
  // Every channel, a page at a time, sorted on the server; sort, order, filter and page in the URL.
  const want = new URLSearchParams(params);
  const data = await api(`/api/channels?${want.toString()}`);
  const goTo = (changes) => hashWith("channels", want, changes);
  const watched = el("select", { id: "channels-watched", onchange: (event) => goTo({ watched: event.target.value, offset: "" }) },
    [["", "watched and discovered"], ["true", "watched"], ["false", "discovered"]].map(([v, t]) => el("option", { value: v, selected: (want.get("watched") || "") === v }, t)));
  const sorting = { view: "channels", want, sort: "escalation", keys: { channel: "username", subscribers: "subscribers", posts: "posts", "last post": "last_post", "first seen": "first_seen", escalation: "escalation" } };
  return [el("h2", {}, `Channels (${data.total})`), el("p", {}, el("label", {}, "show ", watched)),
    pager(data, data.channels.length, (offset) => goTo({ offset }), { order: "", empty: "no channels yet: add some to the watchlist and sweep (`tgsweep watch add`, `tgsweep sweep`)" }),
    table(["channel", "title", "watched", "subscribers", "posts", "last post", "first seen", "escalation"], data.channels.map((c) => [
      nodeLink(c.node, `@${c.username}`), fmt(c.title), c.watched ? "watched" : `discovered (depth ${fmt(c.depth)})`, fmt(c.subscribers),
      c.posts, day(c.last_post), day(c.first_seen), c.escalation == null ? "–" : score(c.escalation)]), sorting)];
}

function clusterSummary(c) {
  return el("div", {},
    el("h3", {}, `media cluster ${c.id}`),
    el("p", {}, `${c.file_count} file(s), ${c.appearances} post(s) in ${c.channels.length} channel(s); origin candidate ${fmt(c.origin_channel)}/${fmt(c.origin_post)} (${day(c.origin_date)})`),
    el("p", {}, c.channels.map((ch) => [nodeLink(`channel:${ch}`, `@${ch}`), " "])),
    el("h4", {}, "Escalation"), escalationBlock(c.escalation),
    el("p", {}, el("a", { href: `#/cluster/${encodeURIComponent(c.id)}` }, "open the cluster page →")));
}

async function clusterPage(id) {
  const c = await api(`/api/clusters/${encodeURIComponent(id)}`);
  return [clusterSummary(c), el("h3", {}, "Files (previews blurred)"),
    table(["preview", "sha256", "bank matches"], c.files.map((f) => [mediaPreview(f), el("span", { class: "hash" }, f.sha256), matchesCell(f.bank_matches)])),
    await caseLog(c.node)];
}

function changesBox(c, lastVisit) {
  // "since your last visit": what moved while the analyst was away, each part a link to where it is
  if (!c) return el("p", { class: "muted", id: "changes" }, "first visit from this browser: later visits list what changed since");
  const alerts = Object.entries(c.alerts).sort(([a], [b]) => a.localeCompare(b)).map(([sev, n]) => `${n} ${sev}`).join(", ");
  const verb = { decision: "decided", note: "noted", reviewed: "reviewed" };
  const parts = [
    el("li", {}, `${c.escalated_total} newly escalated`, c.escalated.length ? ": " : "",
      c.escalated.map((e) => [nodeLink(e.subject, `${e.subject.split(":")[1]} (${score(e.score)})`), " "])),
    el("li", {}, alerts ? el("a", { href: "#/alerts" }, `alerts: ${alerts}`) : "no new alert"),
    el("li", {}, c.bank_matches.files ? el("a", { href: "#/known" }, `${c.bank_matches.files} file(s) matched ${c.bank_matches.banks.join(", ")}`) : "no new bank match"),
    el("li", {}, c.others.length ? [`by other analysts: `, c.others.map((o) => [`${o.who} ${verb[o.action] || o.action} `, nodeLink(o.subject), o.detail.label ? ` (${o.detail.label})` : "", "; "])] : "nothing by other analysts"),
    el("li", {}, `${c.discovered} channel(s) discovered`),
  ];
  return el("div", { class: "changes", id: "changes" }, el("strong", {}, `Since your last visit (${lastVisit.slice(0, 16).replace("T", " ")} UTC)`), el("ul", {}, parts));
}

async function queuePage(_, params) {
  // The landing view: what to look at first and why. Filters and paging are in the URL.
  const want = new URLSearchParams(params);
  const data = await api(`/api/queue?${want.toString()}`);
  // "since your last visit": the visit before this one (kept per browser); a re-render in the same visit keeps it
  let lastVisit = sessionStorage.getItem("tgsweep.previousVisit");
  if (lastVisit === null) {
    lastVisit = localStorage.getItem("tgsweep.lastVisit") || "";
    sessionStorage.setItem("tgsweep.previousVisit", lastVisit);
    localStorage.setItem("tgsweep.lastVisit", new Date().toISOString());
  }
  const changed = lastVisit ? await api(`/api/changes?since=${encodeURIComponent(lastVisit)}`) : null;
  const goTo = (changes) => hashWith("queue", want, changes);
  const kind = el("select", { id: "queue-kind" }, ["", "channel", "bot", "media"].map((k) => el("option", { value: k, selected: (want.get("kind") || "") === k }, k || "every kind")));
  const min = el("input", { id: "queue-min", type: "number", min: "0", max: "1", step: "0.05", value: want.get("min_score") || "0" });
  const sort = el("select", { id: "queue-sort" }, ["score", "escalated", "pagerank"].map((k) => el("option", { value: k, selected: (want.get("sort") || "score") === k }, `by ${k}`)));
  const label = el("select", { id: "queue-label" }, ["", "deepfake_generator", "unknown", "benign"].map((k) => el("option", { value: k, selected: (want.get("label") || "") === k }, k || "any label")));
  const bank = el("input", { id: "queue-bank", type: "text", size: "12", placeholder: "any bank", value: want.get("bank") || "" });
  const community = el("input", { id: "queue-community", type: "number", min: "0", step: "1", placeholder: "any", value: want.get("community") || "" });
  const since = el("input", { id: "queue-since", type: "date", value: (want.get("since") || "").slice(0, 10) });
  const filters = el("form", { class: "queue-filters", onsubmit: (event) => { event.preventDefault(); goTo({ kind: kind.value, min_score: min.value, label: label.value, bank: bank.value.trim(), community: community.value, since: since.value, sort: sort.value, offset: "" }); } },
    el("label", {}, "kind ", kind), el("label", {}, " escalation at least ", min), el("label", {}, " bot label ", label),
    el("label", {}, " bank ", bank), el("label", {}, " community ", community), el("label", {}, " escalated since ", since),
    el("label", {}, " sorted ", sort), el("button", { type: "submit" }, "Apply"));
  const message = el("p", { class: "muted", id: "queue-message" });
  const act = async (item, what) => {
    const note = prompt(what === "reviewed" ? `Why is ${item.subject} reviewed? (kept in its audit trail)` : `Why ${what} @${item.name}? (kept with the decision)`);
    if (!note || !note.trim()) return;
    try {
      if (what === "reviewed") {
        await post("/api/reviewed", { subject: item.subject, note });
        message.textContent = `${item.subject}: marked reviewed (kept in its audit trail; no score changes).`;
      } else {
        message.textContent = decided(await post(`/api/bots/${encodeURIComponent(item.name)}/override`, { decision: what, note }));
      }
      explorer.flash = { username: item.name, text: "" };
      localStorage.setItem("tgsweep.queueMessage", message.textContent);
      route();
    } catch (error) { message.textContent = error.message; }
  };
  const kept = localStorage.getItem("tgsweep.queueMessage");
  if (kept) { message.textContent = kept; localStorage.removeItem("tgsweep.queueMessage"); }
  return [el("h2", {}, `Queue (${data.total})`),
    changesBox(changed, lastVisit),
    filters, message,
    data.total ? null : el("p", { class: "muted" }, "nothing scored yet: sweep some channels, then `tgsweep graph build`"),
    table(["escalation", "subject", "why (top reasons)", "since", "bank matches", "reviewed", ""], data.items.map((i) => [
      el("strong", {}, score(i.score)),
      el("div", {}, nodeLink(`${i.subject}`, i.kind === "media" ? `media ${i.name}` : `@${i.name}`), " ", el("span", { class: "muted" }, i.kind),
        i.label ? [" ", labelSpan(i.label)] : null, i.tme ? [el("br"), tme(i.tme, "t.me")] : null,
        changed && i.escalated_at && i.escalated_at > changed.since ? [" ", el("span", { class: "flag" }, "new")] : null),
      reasonsList(i.reasons), day(i.escalated_at), i.bank_matches || "–", i.reviewed_at ? day(i.reviewed_at) : "–",
      el("div", { class: "queue-actions" },
        el("button", { type: "button", class: "reviewed", onclick: () => act(i, "reviewed") }, "Mark reviewed"),
        i.kind === "bot" ? [el("button", { type: "button", class: "confirm", onclick: () => act(i, "confirm") }, "Confirm"),
          el("button", { type: "button", class: "reject", onclick: () => act(i, "reject") }, "Reject")] : null)])),
    pager(data, data.items.length, (offset) => goTo({ offset }), { order: "", back: "← previous", on: "next →" })];
}

async function knownPage() {
  // Known content: what the banks found, hash-first and blurred; who posted it and where it appeared first.
  const rows = await api("/api/known");
  return [el("h2", {}, `Known content (${rows.length})`),
    rows.length ? null : el("p", { class: "muted" }, "no bank match yet: import a hash list (tgsweep media import-hashes FILE --bank NAME) or sync one (tgsweep media sync)"),
    table(["preview", "bank", "label", "tier", "cluster", "files", "channels that posted it", "first appearance"], rows.map((k) => [
      mediaPreview(k), k.bank, fmt(k.label), el("span", { class: `tier tier-${k.tier.replace(" ", "-")}` }, `${k.tier} (${k.distance})`),
      k.node ? nodeLink(k.node, k.cluster) : el("span", { class: "hash" }, k.sha256.slice(0, 16)), k.files,
      k.channels.length ? k.channels.map((c) => [nodeLink(`channel:${c}`, `@${c}`), " "]) : "–",
      k.first.url ? el("span", {}, tme(k.first.url, `${k.first.channel}/${k.first.post}`), ` ${day(k.first.date)}`) : "–"]))];
}

async function searchPage(text) {
  const found = await api(`/api/search?q=${encodeURIComponent(text)}`);
  const box = document.getElementById("search");
  if (box && box.value !== text) box.value = text;
  const total = found.channels.length + found.bots.length + found.clusters.length + found.posts.length;
  return [el("h2", {}, `Search: ${text}`),
    total ? null : el("p", { class: "muted" }, "nothing found: try part of a name, a bank or label, 6+ hex digits of a hash, or words of a post"),
    el("h3", {}, `Channels (${found.channels.length})`),
    table(["channel", "title"], found.channels.map((c) => [nodeLink(c.node, `@${c.username}`), fmt(c.title)])),
    el("h3", {}, `Bots (${found.bots.length})`),
    table(["bot", "title", "verdict"], found.bots.map((b) => [nodeLink(b.node, `@${b.username}`), fmt(b.title), labelSpan(b.label)])),
    el("h3", {}, `Known content and repost clusters (${found.clusters.length})`),
    table(["cluster", "banks"], found.clusters.map((c) => [nodeLink(c.node, c.cluster), c.banks.join("; ") || "hash prefix"])),
    el("h3", {}, `Posts (${found.posts.length})`),
    table(["post", "date", "text"], found.posts.map((p) => [tme(p.url, `${p.channel}/${p.id}`), day(p.date),
      el("div", { class: "post-text" }, p.text)]))];
}

function setupSearch() {
  const box = document.getElementById("search");
  document.getElementById("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (box.value.trim().length >= 2) location.hash = `#/search/${encodeURIComponent(box.value.trim())}`;
  });
  document.addEventListener("keydown", (event) => {  // "/" focuses the search box, as on most sites
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
    if (event.key === "/" && !typing) { event.preventDefault(); box.focus(); box.select(); }
  });
}

function entryText(e) {
  const d = e.detail || {};
  if (e.action === "note") return [d.note || "", d.tags && d.tags.length ? el("span", { class: "muted" }, ` [${d.tags.join(", ")}]`) : ""];
  if (e.action === "reveal") return `showed ${String(d.sha256 || "").slice(0, 16)}… unblurred`;
  if (e.action === "decision") return `labelled ${d.label}: ${d.note || ""}`;
  if (e.action === "reviewed") return `reviewed: ${d.note || ""}`;
  if (e.action === "export") return `evidence bundle (${d.format}), sha256 ${String(d.sha256 || "").slice(0, 16)}…` + (d.from ? ` from the ${d.from}` : "");
  return JSON.stringify(d);
}

async function caseLog(subject) {
  // Case notes and the store's record of who revealed, decided or exported what about this subject.
  const entries = await api(`/api/audit?subject=${encodeURIComponent(subject)}`);
  const bundle = subject.startsWith("file:") ? null : el("p", {}, el("a", { href: `/api/evidence?subject=${encodeURIComponent(subject)}`,
    download: "", id: "evidence-link" }, "Download the evidence bundle (ZIP, as tgsweep evidence export)"),
    el("span", { class: "muted" }, " · recorded in this trail"));
  const note = el("textarea", { id: "case-note", placeholder: "a case note (kept with your name and the time; never changed)" });
  const tags = el("input", { id: "case-tags", placeholder: "tags, comma-separated (e.g. school, minor, urgent)" });
  const message = el("p", { class: "muted", id: "case-message" });
  const save = async () => {
    if (!note.value.trim()) { message.textContent = "write the note first"; return; }
    try {
      await post("/api/notes", { subject, note: note.value, tags: tags.value.split(",") });
      route();
    } catch (error) { message.textContent = error.message; }
  };
  return el("div", { class: "case-log" }, el("h3", {}, "Case notes and audit trail"), bundle,
    el("label", {}, "note ", note), el("label", {}, " tags ", tags),
    el("button", { type: "button", id: "btn-note", onclick: save }, "Add note"), message,
    table(["at", "who", "what", "detail"], entries.map((e) => [e.at, e.who, e.action, entryText(e)])));
}

function stateCell(a) {
  // graph.alerts.delivery.list_alerts: the alert's summed-up state, then one line per sink.
  const sinks = Array.isArray(a.sinks) ? a.sinks : [];
  return el("div", { class: `state-${a.state}` }, el("strong", {}, fmt(a.state)),
    sinks.map((s) => el("div", { class: "muted" }, `${s.sink}: ${s.state}` + (s.attempts ? `, ${s.attempts} attempt(s)` : "") +
      (s.last_status ? `, HTTP ${s.last_status}` : "") + (s.last_error ? `, ${s.last_error}` : "") +
      (s.state !== "delivered" && s.next_attempt_at ? `, next ${s.next_attempt_at}` : ""))));
}

async function alertsPage(_, params) {
  // A page of alerts at a time (a backlog of thousands opens at once); the state filter and the page are in the URL.
  const want = new URLSearchParams(params);
  const data = await api(`/api/alerts?${want.toString()}`);
  const goTo = (changes) => hashWith("alerts", want, changes);
  const stateFilter = el("select", { id: "alerts-state", onchange: (event) => goTo({ state: event.target.value, offset: "" }) },
    ["", "pending", "delivered", "dead", "withdrawn"].map((k) => el("option", { value: k, selected: (want.get("state") || "") === k }, k || "every state")));
  const pages = pager(data, data.alerts.length, (offset) => goTo({ offset }));
  const message = el("p", { class: "muted", id: "retry-message" });
  const retry = async (ids) => {
    try {
      const done = await post("/api/alerts/retry", { ids });
      message.textContent = `${done.queued} alert(s) queued for another delivery attempt`;
      setTimeout(route, 600);
    } catch (error) {
      message.textContent = error.message;
    }
  };
  return [el("h2", {}, `Alerts (${data.total})`), ...notes(data.notes),
    el("p", {}, el("label", {}, "state ", stateFilter), " ",
      el("button", { type: "button", id: "retry-all", onclick: () => retry(null) }, "Retry every undelivered alert")), message, pages,
    table(["created", "type", "severity", "subject", "state", "attempts", "last error", "next attempt", ""], data.alerts.map((a) => [
      day(a.created_at), a.type, a.severity, nodeLink(a.subject), stateCell(a), fmt(a.attempts), fmt(a.last_error),
      fmt(a.next_attempt_at), el("button", { type: "button", class: "retry", onclick: () => retry([a.id]) }, "Retry")]),
    { view: "alerts", want, sort: "created", keys: { created: "created", type: "type", severity: "severity", subject: "subject", state: "state", attempts: "attempts" } })];
}

// -- start -----------------------------------------------------------------------------------------------

document.getElementById("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  document.getElementById("details").replaceChildren(el("p", { class: "muted" }, "Click a node for its details."));
  loadGraph();
});
window.addEventListener("hashchange", route);
setupSearch();
// graph controls: fit, zoom around the middle; the edge kinds' legend in their colours
const zoomBy = (factor) => {
  const cy = explorer.cy;
  if (cy) cy.zoom({ level: cy.zoom() * factor, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
};
document.getElementById("g-fit").addEventListener("click", () => explorer.cy && explorer.cy.fit(undefined, 20));
document.getElementById("g-zoom-in").addEventListener("click", () => zoomBy(1.5));
document.getElementById("g-zoom-out").addEventListener("click", () => zoomBy(1 / 1.5));
document.getElementById("edge-legend").replaceChildren("edges: ", ...Object.entries(EDGE_COLOUR).map(([kind, colour]) =>
  [el("span", { class: "edge-key", style: `border-top: 3px ${kind === "mirror_of" ? "dashed" : "solid"} ${colour}` }), ` ${kind.replace(/_/g, " ")} `]));
api("/api/info").then((info) => {
  explorer.info = info;
  document.getElementById("whoami").textContent = `analyst ${info.analyst}` + (info.hash_only ? " · hash-only mode" : "");
}).catch(() => {});
route();
