// chord's ring dashboard: polls GET /v1/ring about once a second and
// draws it; the key box asks GET /v1/lookup/KEY. Plain JS and SVG, no
// framework, nothing loaded from anywhere but this peer.
//
// Hooks for tests: every position is <circle class="position" data-id
// data-endpoint data-state>; after a lookup the owner's circle has
// data-role="owner" and the replicas' data-role="replica"; #status has
// data-state live|partial|lost|denied|connecting.
"use strict";

(function () {
  const POLL_MS = 1000;            // one poll started at most this often
  const FETCH_TIMEOUT_MS = 5000;   // a poll that takes longer counts as lost
  const LOOKUP_DELAY_MS = 250;     // typing pauses this long before a lookup
  const RADIUS = 250;              // the ring's radius in the SVG's units
  const LABEL_RADIUS = 280;        // where the position labels sit
  const SVGNS = "http://www.w3.org/2000/svg";
  // Tableau 10, red last (red means down here), then golden-angle hues.
  const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948",
                   "#ff9da7", "#9c755f", "#499894", "#e15759"];

  const $ = (id) => document.getElementById(id);
  const state = {
    ring: null,            // the last /v1/ring answer
    colours: new Map(),    // endpoint -> colour, kept for the page's life so colours stay put
    lookup: null,          // the last /v1/lookup answer, drawn on the ring
    lookupKey: "",         // the key it answers for
    membership: "",        // the ids of the live positions, to redo the lookup when they change
    lastOk: null,          // Date of the last good poll
    focus: null,           // the endpoint whose table row the pointer is on, or null
  };

  function token() {
    const params = new URLSearchParams(location.hash.slice(1));
    return params.get("token");
  }

  // fetch with the bearer token (from #token=...) and a bounded wait.
  async function getJson(path) {
    const headers = { "Accept": "application/json" };
    const t = token();
    if (t) headers["Authorization"] = "Bearer " + t;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
    try {
      const reply = await fetch(path, { headers, signal: abort.signal, cache: "no-store" });
      let body = null;
      try { body = await reply.json(); } catch (e) { body = null; }
      return { status: reply.status, body };
    } finally {
      clearTimeout(timer);
    }
  }

  // The id's place on the circle, in [0, 1): its first 13 hex digits (52 bits) over 2^52.
  function fraction(hex) {
    return parseInt(String(hex).slice(0, 13), 16) / 4503599627370496;
  }

  // Angle 0 at the top, clockwise, as a clock.
  function point(f, r) {
    const a = f * 2 * Math.PI;
    return [r * Math.sin(a), -r * Math.cos(a)];
  }

  function colour(endpoint) {
    if (!state.colours.has(endpoint)) {
      const n = state.colours.size;
      state.colours.set(endpoint, n < PALETTE.length ? PALETTE[n]
        : "hsl(" + Math.round((n * 137.508) % 360) + ", 55%, 52%)");
    }
    return state.colours.get(endpoint);
  }

  function el(tag, attrs, parent, text) {
    const node = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function html(tag, attrs, parent, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function pct(x) {
    return typeof x === "number" && isFinite(x) ? (100 * x).toFixed(1) + "%" : "\u2013";
  }

  function count(x) {
    return typeof x === "number" && isFinite(x) ? x.toLocaleString("en-US") : "\u2013";
  }

  // Endpoints in natural order: 10.0.0.2 before 10.0.0.10, port 7002 before 7010.
  function byEndpoint(a, b) {
    return String(a.endpoint).localeCompare(String(b.endpoint), "en", { numeric: true });
  }

  function plural(n, one, many) {
    return n + " " + (n === 1 ? one : many);
  }

  function shortEndpoint(endpoint) {
    return String(endpoint || "?").replace(/^tcp:\/\//, "");
  }

  // An arc of the ring from fraction f0 to f1, clockwise.
  function arcPath(f0, f1, r) {
    let span = f1 - f0;
    if (span <= 0) span += 1;
    if (span >= 0.9999) {
      // A whole circle: two half arcs, since one arc cannot end where it starts.
      const [x0, y0] = point(f1, r), [x1, y1] = point(f1 + 0.5, r);
      return "M" + x0 + " " + y0 + "A" + r + " " + r + " 0 1 1 " + x1 + " " + y1 +
             "A" + r + " " + r + " 0 1 1 " + x0 + " " + y0;
    }
    const gap = Math.min(0.0015, span / 4);   // a hairline between neighbouring arcs
    const [x0, y0] = point(f0 + gap, r), [x1, y1] = point(f0 + span - gap, r);
    return "M" + x0 + " " + y0 + "A" + r + " " + r + " 0 " + (span > 0.5 ? 1 : 0) + " 1 " + x1 + " " + y1;
  }

  // Labels that would overlap one already placed are left out; the tooltip has them all.
  function placeLabels(positions, group) {
    const placed = [];
    const limit = positions.length > 48 ? 0 : positions.length;
    for (const p of positions.slice(0, limit)) {
      const f = fraction(p.id);
      const [x, y] = point(f, LABEL_RADIUS);
      const text = String(p.id).slice(0, 6);
      const w = text.length * 7 + 4, h = 14;
      const anchor = x > 8 ? "start" : x < -8 ? "end" : "middle";
      const left = anchor === "start" ? x : anchor === "end" ? x - w : x - w / 2;
      const box = [left, y - h / 2, left + w, y + h / 2];
      if (placed.some((b) => box[0] < b[2] && b[0] < box[2] && box[1] < b[3] && b[1] < box[3])) continue;
      placed.push(box);
      el("text", { class: "label mono", x: x, y: y + 4, "text-anchor": anchor, "data-id": p.id }, group, text);
    }
  }

  function drawRing(ring) {
    const svg = $("ring");
    svg.textContent = "";
    const positions = (ring.positions || []).filter((p) => /^[0-9a-f]{40}$/.test(p.id))
      .slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    el("circle", { class: "baseline", r: RADIUS }, svg);
    const arcs = el("g", {}, svg);
    positions.forEach((p, i) => {
      const prev = positions[(i + positions.length - 1) % positions.length];
      const arc = el("path", { class: "arc" + (p.state === "down" ? " down" : ""),
                               d: arcPath(fraction(prev.id), fraction(p.id), RADIUS),
                               "data-endpoint": p.endpoint }, arcs);
      if (p.state !== "down") arc.setAttribute("stroke", colour(p.endpoint));
    });
    const processes = ring.processes || [];
    const live = processes.filter((p) => p.state !== "down").length;
    el("text", { class: "centre", y: -6 }, svg, plural(processes.length, "process", "processes") + ", " +
       plural(positions.length, "position", "positions"));
    el("text", { class: "centre small", y: 14 }, svg,
       (live < processes.length ? (processes.length - live) + " down, " : "") +
       "R = " + (ring.replicas === undefined ? "?" : ring.replicas));
    drawLookup(svg, positions);
    placeLabels(positions, el("g", {}, svg));
    const dots = el("g", {}, svg);
    const dotRadius = positions.length > 48 ? 5 : 8;
    const roles = lookupRoles();
    for (const p of positions) {
      const [x, y] = point(fraction(p.id), RADIUS);
      const attrs = { class: "position state-" + (p.state || "unknown"), cx: x, cy: y, r: dotRadius,
                      fill: colour(p.endpoint), "data-id": p.id, "data-endpoint": p.endpoint,
                      "data-state": p.state };
      if (roles.has(p.id)) attrs["data-role"] = roles.get(p.id);
      const dot = el("circle", attrs, dots);
      dot.addEventListener("mousemove", (e) => showTooltip(e, p));
      dot.addEventListener("mouseleave", hideTooltip);
    }
    if (state.focus !== null) focusProcess(state.focus);
  }

  // id -> "owner" | "replica" for the last lookup.
  function lookupRoles() {
    const roles = new Map();
    const l = state.lookup;
    if (!l) return roles;
    for (const r of l.replicas || []) if (r && r.id) roles.set(r.id, "replica");
    if (l.owner && l.owner.id) roles.set(l.owner.id, "owner");
    return roles;
  }

  function drawLookup(svg, positions) {
    const l = state.lookup;
    if (!l || typeof l.id !== "string") return;
    const f = fraction(l.id);
    // The line starts clear of the text in the centre.
    const [x0, y0] = point(f, 120), [x, y] = point(f, RADIUS - 24);
    el("line", { class: "key-line", x1: x0, y1: y0, x2: x, y2: y }, svg);
    const [mx, my] = point(f, RADIUS - 14);
    const deg = f * 360;
    el("path", { id: "key-marker", d: "M0 -9 L7 5 L-7 5 Z", "data-id": l.id,
                 transform: "translate(" + mx + " " + my + ") rotate(" + (deg + 180) + ")" }, svg);
    const roles = lookupRoles();
    const dotRadius = positions.length > 48 ? 5 : 8;
    for (const p of positions) {
      if (!roles.has(p.id)) continue;
      const [px, py] = point(fraction(p.id), RADIUS);
      el("circle", { class: "halo " + roles.get(p.id), cx: px, cy: py, r: dotRadius + 5 }, svg);
    }
  }

  function showTooltip(e, p) {
    const tip = $("tooltip");
    tip.textContent = "";
    const add = (label, value, mono) => {
      const line = html("div", {}, tip);
      html("b", {}, line, label + " ");
      html("span", mono ? { class: "mono" } : {}, line, value);
    };
    add("position", p.id, true);
    add("process", shortEndpoint(p.endpoint));
    add("state", p.state);
    add("owns", pct(p.owns) + " (effective " + pct(p.owns_effective) + ")");
    add("keys", count(p.keys_owned) + " owned, " + count(p.keys_replica) + " replica");
    tip.hidden = false;
    const x = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 4);
    const y = Math.min(e.clientY + 14, window.innerHeight - tip.offsetHeight - 4);
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }

  function hideTooltip() {
    $("tooltip").hidden = true;
  }

  function drawShares(ring) {
    const svg = $("shares");
    svg.textContent = "";
    const processes = (ring.processes || []).slice()
      .sort(byEndpoint);
    const live = processes.filter((p) => p.state !== "down").length || 1;
    const ideal = 1 / live;
    const rowH = processes.length > 12 ? 14 : 20, top = 18, labelW = 150, width = 520, barW = width - labelW - 56;
    const max = Math.max(ideal, ...processes.map((p) => (typeof p.owns === "number" ? p.owns : 0))) * 1.1;
    const height = top + rowH * processes.length + 4;
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("height", height);
    processes.forEach((p, i) => {
      const y = top + i * rowH;
      el("text", { x: labelW - 6, y: y + rowH * 0.7, "text-anchor": "end" }, svg, shortEndpoint(p.endpoint));
      el("rect", { class: "track", x: labelW, y: y + 2, width: barW, height: rowH - 4 }, svg);
      const owns = typeof p.owns === "number" ? p.owns : 0;
      el("rect", { x: labelW, y: y + 2, width: Math.max(0, barW * owns / max), height: rowH - 4,
                   fill: p.state === "down" ? "#d5d8de" : colour(p.endpoint), "data-endpoint": p.endpoint }, svg);
      el("text", { x: labelW + barW + 4, y: y + rowH * 0.7 }, svg, pct(p.owns));
    });
    const ix = labelW + barW * ideal / max;
    el("line", { class: "ideal", x1: ix, x2: ix, y1: top - 4, y2: height }, svg);
    el("text", { class: "ideal-label", x: ix, y: 11, "text-anchor": "middle" }, svg,
       "ideal 1/" + live + " = " + pct(ideal));
  }

  function drawTable(ring) {
    const body = document.querySelector("#process-table tbody");
    body.textContent = "";
    const processes = (ring.processes || []).slice()
      .sort(byEndpoint);
    for (const p of processes) {
      const row = html("tr", { "data-endpoint": p.endpoint, class: p.state === "down" ? "down" : "" }, body);
      const first = html("td", {}, row);
      const swatch = html("span", { class: "swatch" }, first);
      swatch.style.background = p.state === "down" ? "#d5d8de" : colour(p.endpoint);
      first.appendChild(document.createTextNode(shortEndpoint(p.endpoint)));
      html("td", {}, row, p.state || "?");
      html("td", { class: "num" }, row, count(p.positions));
      html("td", { class: "num" }, row, pct(p.owns));
      html("td", { class: "num" }, row, pct(p.owns_effective));
      html("td", { class: "num" }, row, count(p.keys_owned));
      html("td", { class: "num" }, row, count(p.keys_replica));
      row.addEventListener("mouseenter", () => focusProcess(p.endpoint));
      row.addEventListener("mouseleave", () => focusProcess(null));
    }
  }

  // Hovering a process's row dims every other process's positions and arcs.
  function focusProcess(endpoint) {
    state.focus = endpoint;
    for (const node of document.querySelectorAll("#ring .position, #ring .arc")) {
      node.classList.toggle("dim", endpoint !== null && node.getAttribute("data-endpoint") !== endpoint);
    }
  }

  function setStatus(kind, text) {
    const status = $("status");
    if (kind !== "denied") status.title = "";
    status.setAttribute("data-state", kind);
    status.textContent = text;
    document.body.classList.toggle("stale", kind === "lost" || kind === "denied");
  }

  function clock(date) {
    return date ? date.toLocaleTimeString("en-GB") : "never";
  }

  function render(ring) {
    state.ring = ring;
    drawRing(ring);
    drawShares(ring);
    drawTable(ring);
    const processes = ring.processes || [], positions = ring.positions || [];
    // Key counts come from each peer's census; a ring without one has none to sum.
    const counted = processes.filter((p) => typeof p.keys_owned === "number");
    const keys = counted.reduce((n, p) => n + p.keys_owned, 0);
    $("summary").textContent = "via " + location.host + " \u00b7 " + plural(processes.length, "process", "processes") +
      " \u00b7 " + plural(positions.length, "position", "positions") + " \u00b7 R = " + ring.replicas +
      (counted.length ? " \u00b7 " + count(keys) + " keys" : "");
    const walked = typeof ring.walked_ms === "number" ? ", ring walked in " + ring.walked_ms + " ms" : "";
    if (ring.complete === false)
      setStatus("partial", "live, walk incomplete" + walked + " \u00b7 " + clock(state.lastOk));
    else
      setStatus("live", "live" + walked + " \u00b7 " + clock(state.lastOk));
    const membership = positions.filter((p) => p.state !== "down").map((p) => p.id).sort().join(",");
    if (membership !== state.membership) {
      state.membership = membership;
      if (state.lookupKey) lookup(state.lookupKey);
    }
  }

  // The peer's own words go to the tooltip; the badge says what to do.
  function deniedText(status, body) {
    $("status").title = body && body.error ? body.error : "";
    if (status === 401)
      return "a token is needed (401): open " + location.origin + "/#token=YOUR-TOKEN";
    return "this token may not read the ring (403)";
  }

  async function poll() {
    const started = Date.now();
    try {
      const { status, body } = await getJson("/v1/ring");
      if (status === 200 && body && Array.isArray(body.positions)) {
        state.lastOk = new Date();
        if (!Array.isArray(body.processes)) body.processes = [];
        try {
          render(body);
        } catch (e) {
          setStatus("lost", "cannot draw the peer's answer: " + e.message);
        }
      } else if (status === 401 || status === 403) {
        setStatus("denied", deniedText(status, body));
      } else {
        setStatus("lost", "connection lost: HTTP " + status + (body && body.error ? " " + body.error : "") +
                  " \u00b7 last update " + clock(state.lastOk));
      }
    } catch (e) {
      setStatus("lost", "connection lost: " + (e.name === "AbortError" ? "no answer within " +
                FETCH_TIMEOUT_MS / 1000 + " s" : "the peer does not answer") +
                " \u00b7 last update " + clock(state.lastOk));
    }
    setTimeout(poll, Math.max(0, POLL_MS - (Date.now() - started)));
  }

  function showLookup(message, isError) {
    const m = $("lookup-message");
    m.textContent = message;
    m.classList.toggle("error", !!isError);
  }

  let lookupSerial = 0;   // only the answer to the latest lookup is drawn

  async function lookup(key) {
    const serial = ++lookupSerial;
    state.lookupKey = key;
    if (!key) {
      state.lookup = null;
      $("lookup-result").hidden = true;
      showLookup("Its id, owner, replicas and the lookup's hops show here and on the ring.", false);
      if (state.ring) drawRing(state.ring);
      return;
    }
    let reply;
    try {
      reply = await getJson("/v1/lookup/" + encodeURIComponent(key));
    } catch (e) {
      reply = { status: 0, body: null };
    }
    if (serial !== lookupSerial) return;
    const l = reply.body;
    if (reply.status === 200 && l && l.owner) {
      state.lookup = l;
      $("key-id").textContent = l.id;
      $("key-owner").textContent = shortEndpoint(l.owner.endpoint) + "  (position " + String(l.owner.id).slice(0, 10) + "\u2026)";
      $("key-replicas").textContent = (l.replicas || []).length
        ? (l.replicas || []).map((r) => shortEndpoint(r.endpoint)).join(", ") : "none";
      $("hops").textContent = typeof l.hops === "number" ? String(l.hops) : "?";
      $("lookup-result").hidden = false;
      showLookup("", false);
    } else {
      state.lookup = null;
      $("lookup-result").hidden = true;
      showLookup(reply.status === 401 || reply.status === 403 ? deniedText(reply.status, l)
        : "lookup failed: " + (reply.status ? "HTTP " + reply.status : "no answer") +
          (l && l.error ? ", " + l.error : ""), true);
    }
    if (state.ring) drawRing(state.ring);
  }

  function start() {
    let timer = null;
    const input = $("key");
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => lookup(input.value), LOOKUP_DELAY_MS);
    });
    $("key-form").addEventListener("submit", (e) => {
      e.preventDefault();
      clearTimeout(timer);
      lookup(input.value);
    });
    poll();
  }

  start();
})();
