// Canopy's web map: the air picture of a run (live over WebSocket, or replayed from stored
// frames) on Leaflet, with the shipped borders, regions and cities; no tiles, no network
// beyond this server.
"use strict";

if (typeof L === "undefined") {
  document.getElementById("map").innerHTML = '<p style="padding:2em">Leaflet is missing: the map needs Debian\'s libjs-leaflet ' +
    "(<code>sudo apt-get install -y libjs-leaflet</code>), served from /usr/share/javascript/leaflet. The API works without it.</p>";
  throw new Error("Leaflet is not installed");
}

const state = {
  runId: null, runStatus: null, ws: null,
  tracks: new Map(), units: new Map(), engagements: new Map(), regions: new Map(), sensors: new Map(),
  time: 0, events: [],
  replay: { times: [], frames: new Map(), playing: false, timer: null, events: [] },
};
const classLetter = { drone: "D", decoy: "X", cruise: "C", "supersonic-cruise": "S", ballistic: "B", aeroballistic: "A", unknown: "?" };
const classColor = { drone: "#e53935", decoy: "#ad7fa8", cruise: "#fb8c00", "supersonic-cruise": "#f4511e",
                     ballistic: "#b71c1c", aeroballistic: "#880e4f", unknown: "#fdd835" };

const $ = (id) => document.getElementById(id);
const fmtClock = (t) => { const s = Math.max(0, Math.round(t)); return `T+${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`; };
const fmtDur = (s) => s == null ? "—" : (s >= 60 ? `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, "0")} s` : `${Math.round(s)} s`);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

// ---- Map and its layers ----
const map = L.map("map", { zoomControl: true, attributionControl: true, preferCanvas: false }).setView([49.0, 31.5], 6);
map.attributionControl.setPrefix("Leaflet · borders: Natural Earth · cities: GeoNames");
const layers = {
  regions: L.geoJSON(null, { style: () => regionStyle(false) }).addTo(map),
  outline: L.geoJSON(null, { style: { color: "#9fb3c2", weight: 1.5, fill: false } }).addTo(map),
  cities: L.layerGroup().addTo(map),
  acoustic: L.layerGroup().addTo(map),
  coverage: L.layerGroup(),
  sensors: L.layerGroup().addTo(map),
  rings: L.layerGroup().addTo(map),
  units: L.layerGroup().addTo(map),
  paths: L.layerGroup().addTo(map),
  sigma: L.layerGroup().addTo(map),
  engagements: L.layerGroup().addTo(map),
  tracks: L.layerGroup().addTo(map),
  marks: L.layerGroup().addTo(map),
};
L.control.layers(null, {
  "Regions": layers.regions, "Cities": layers.cities, "Radars": layers.sensors, "Radar coverage": layers.coverage,
  "Acoustic networks": layers.acoustic, "Range rings": layers.rings, "Fire units": layers.units,
  "Predicted paths": layers.paths, "Uncertainty": layers.sigma, "Engagements": layers.engagements,
  "Tracks": layers.tracks, "Intercepts, misses, impacts": layers.marks,
}, { collapsed: true }).addTo(map);
const regionLayerById = new Map();

function regionStyle(on) {
  return on ? { color: "#ff7043", weight: 1.5, fillColor: "#e53935", fillOpacity: 0.35 }
            : { color: "#41505c", weight: 0.8, fillColor: "#1c2a35", fillOpacity: 0.25 };
}

async function loadGeography() {
  const [regions, outline, cities] = await Promise.all(["/api/geo/regions", "/api/geo/outline", "/api/geo/cities"].map((u) => fetch(u).then((r) => r.json()).catch(() => null)));
  if (regions) {
    layers.regions.addData(regions);
    layers.regions.eachLayer((l) => {
      const p = l.feature.properties || {};
      const id = p.iso_3166_2 || p.id || p.shapeISO;
      if (id) regionLayerById.set(id, l);
      l.bindTooltip(() => regionTooltip(id, p), { sticky: true });
    });
  }
  if (outline) layers.outline.addData(outline);
  if (Array.isArray(cities)) {
    for (const c of cities) {
      const r = 2 + Math.sqrt((c.population || 0) / 1e6) * 7;
      const m = L.circleMarker([c.lat, c.lon], { radius: r, color: "#cfd8dc", weight: 1, fillColor: "#eceff1", fillOpacity: 0.5 });
      // The largest cities are named on the map; the others on hover.
      if ((c.population || 0) >= 400000) {
        m.bindTooltip(esc(c.name), { permanent: true, direction: "right", offset: [r, 0], className: "city-label" });
      } else {
        m.bindTooltip(`${esc(c.name)} — ${Math.round((c.population || 0) / 1000)}k`);
      }
      m.addTo(layers.cities);
    }
  }
}

function regionTooltip(id, props) {
  const r = state.regions.get(id);
  const name = (r && r.name) || props.name || props.shapeName || id;
  if (!r || !r.alert) return `${esc(name)}: no alert`;
  const lead = r.expectedImpact != null ? ` — impact expected in ${fmtDur(r.expectedImpact - state.time)}` : "";
  return `${esc(name)}: AIR RAID ALERT for ${fmtDur(state.time - r.since)}${lead}`;
}

// ---- Drawing the picture ----
function trackIcon(t) {
  const c = classColor[t.class] || classColor.unknown;
  const dark = t.class === "unknown" ? " dark" : "";
  return L.divIcon({ className: "track-icon", iconSize: [22, 22], iconAnchor: [11, 11],
    html: `<div class="body" style="background:${c}"></div><div class="label${dark}">${classLetter[t.class] || "?"}</div>` });
}

// The sensors stand still: drawn again only when their list changes.
let sensorsDrawn = "";
function drawSensors() {
  const key = [...state.sensors.keys()].sort().join("|");
  if (key === sensorsDrawn) return;
  sensorsDrawn = key;
  for (const k of ["sensors", "coverage", "acoustic"]) layers[k].clearLayers();
  for (const s of state.sensors.values()) {
    if (s.kind === "acoustic-network") {
      L.circle([s.lat, s.lon], { radius: s.maxRange, color: "#81c784", weight: 1, dashArray: "2 4", fillColor: "#81c784", fillOpacity: 0.05 })
        .bindTooltip(`${esc(s.id)}: ${s.nodes} acoustic nodes (${esc(s.type)}) within ${(s.maxRange / 1000).toFixed(0)} km`).addTo(layers.acoustic);
      continue;
    }
    L.circle([s.lat, s.lon], { radius: s.maxRange, color: "#ffd54f", weight: 1, dashArray: "1 5", fill: false, interactive: false }).addTo(layers.coverage);
    L.marker([s.lat, s.lon], { icon: L.divIcon({ className: "sensor-icon", iconSize: [12, 12], iconAnchor: [6, 6], html: '<div class="diamond"></div>' }) })
      .bindTooltip(`${esc(s.id)} — radar (${esc(s.type)}), range ${(s.maxRange / 1000).toFixed(0)} km`).addTo(layers.sensors);
  }
}

// Fire units whose markers would overlap at this zoom, in groups: units join when their markers
// overlap, and groups join when the markers drawn for them (at their centres) would, until none
// do. A city's dozen units had been a pile of unreadable labels.
function unitGroups() {
  let groups = [...state.units.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((u) => ({ p: map.latLngToLayerPoint([u.lat, u.lon]), units: [u] }));
  const size = (g) => (g.units.length === 1 ? [30, 20] : [60, 24]);   // a marker and a margin, px
  for (let merged = true; merged; ) {
    merged = false;
    for (let a = 0; a < groups.length && !merged; a++) {
      for (let b = a + 1; b < groups.length; b++) {
        const [wa, ha] = size(groups[a]), [wb, hb] = size(groups[b]);
        if (Math.abs(groups[a].p.x - groups[b].p.x) < (wa + wb) / 2 && Math.abs(groups[a].p.y - groups[b].p.y) < (ha + hb) / 2) {
          const units = groups[a].units.concat(groups[b].units);
          const p = units.map((u) => map.latLngToLayerPoint([u.lat, u.lon])).reduce((s, q) => s.add(q), L.point(0, 0)).divideBy(units.length);
          groups[a] = { p, units };
          groups.splice(b, 1);
          merged = true;
          break;
        }
      }
    }
  }
  return groups;
}

// Groups of fire units depend on the zoom.
map.on("zoomend", () => drawPicture());

const unitLine = (u) => `${esc(u.id)} — ${esc(u.name)}: ${u.roundsLeft} of ${u.magazine} rounds; ${u.channelsBusy}/${u.channels} channels busy; range ${(u.maxRange / 1000).toFixed(1)} km`;

function drawPicture() {
  drawSensors();
  for (const k of ["tracks", "paths", "sigma", "engagements", "units", "rings"]) layers[k].clearLayers();
  for (const u of state.units.values()) {
    L.circle([u.lat, u.lon], { radius: u.maxRange, color: "#42a5f5", weight: 1, dashArray: "4 4", fill: false, interactive: false }).addTo(layers.rings);
  }
  // One marker a unit (its rounds left), or one a group of units that would overlap ("n units",
  // at the group's centre, each unit listed in its tooltip; zoom in to part them).
  for (const g of unitGroups()) {
    if (g.units.length === 1) {
      const u = g.units[0];
      L.marker([u.lat, u.lon], { icon: L.divIcon({ className: "unit-icon", iconSize: [26, 16], html: String(u.roundsLeft) }) })
        .bindTooltip(unitLine(u)).addTo(layers.units);
      continue;
    }
    L.marker(map.layerPointToLatLng(g.p), { icon: L.divIcon({ className: "unit-icon unit-group", iconSize: [56, 16], html: `${g.units.length} units` }) })
      .bindTooltip(`<b>${g.units.length} fire units</b> (zoom in to part them)<br>` + g.units.map(unitLine).join("<br>"))
      .addTo(layers.units);
  }
  for (const t of state.tracks.values()) {
    const c = classColor[t.class] || classColor.unknown;
    if (t.path && t.path.length > 1) L.polyline(t.path.map((p) => [p[0], p[1]]), { color: c, weight: 1.5, dashArray: "6 5", opacity: 0.8, interactive: false }).addTo(layers.paths);
    if (t.sigmaH > 0) L.circle([t.lat, t.lon], { radius: 2 * t.sigmaH, color: c, weight: 1, fillOpacity: 0.08, interactive: false }).addTo(layers.sigma);
    const probs = Object.entries(t.probabilities || {}).map(([k, v]) => `${k} ${(100 * v).toFixed(0)} %`).join(", ");
    L.marker([t.lat, t.lon], { icon: trackIcon(t), title: `track ${t.id}` })
      .bindTooltip(`<b>Track ${t.id}</b> (rank ${t.rank}) — ${esc(t.class)}<br>${esc(probs)}<br>` +
        `${Math.round(t.speed)} m/s, course ${Math.round(t.course)}°, alt ${Math.round(t.alt)} m, ±${Math.round(t.sigmaH)} m<br>` +
        `aim: ${esc(t.aimAsset || "none defended")}; impact in ${fmtDur(t.timeToImpact)}${t.engagedBy ? "<br>engaged by " + esc(t.engagedBy) : ""}`)
      .addTo(layers.tracks);
  }
  for (const e of state.engagements.values()) {
    const u = state.units.get(e.fireUnit);
    if (!u) continue;
    L.polyline([[u.lat, u.lon], [e.lat, e.lon]], { color: "#64b5f6", weight: 2, opacity: 0.9 })
      .bindTooltip(`${esc(e.fireUnit)} → track ${e.track}: ${e.rounds} round(s), Pk ${(100 * e.pk).toFixed(0)} %`).addTo(layers.engagements);
  }
  for (const r of state.regions.values()) {
    const l = regionLayerById.get(r.id);
    if (l) l.setStyle(regionStyle(r.alert));
  }
  drawPanel();
}

function addMark(e) {
  if (e.lat == null || e.lon == null) return;
  const style = { intercept: ["#8be28b", 6], miss: ["#b0bec5", 4], jam: ["#80deea", 5], impact: ["#ff1744", 8] }[e.type];
  if (!style) return;
  const m = L.circleMarker([e.lat, e.lon], { radius: style[1], color: style[0], weight: 2, fillColor: style[0], fillOpacity: e.type === "impact" ? 0.6 : 0.2 })
    .bindTooltip(`${e.type} at ${fmtClock(e.t)}${e.target ? " — " + esc(e.target) : ""}${e.threat ? " — " + esc(e.threat) : ""}${e.fireUnit ? " by " + esc(e.fireUnit) : ""}`);
  m.canopyTime = e.t;
  m.addTo(layers.marks);
}

function eventText(e) {
  switch (e.type) {
    case "launch": return `launch ${esc(e.threatType)} (${esc(e.threat)})`;
    case "engage": return `${esc(e.fireUnit)} engages track ${e.track}`;
    case "intercept": return `intercept: ${esc(e.fireUnit)} → track ${e.track}`;
    case "miss": return `miss: ${esc(e.fireUnit)} → track ${e.track}${e.reason ? " (" + esc(e.reason) + ")" : ""}`;
    case "jam": return `jammed by ${esc(e.fireUnit)}: track ${e.track}`;
    case "impact": return `IMPACT ${esc(e.threatType)}${e.assetsHit && e.assetsHit.length ? " on " + esc(e.assetsHit.join(", ")) : ""}${e.alertLead != null ? `, alert lead ${fmtDur(e.alertLead)}` : ", no alert"}`;
    case "alert_on": return `alert ON: ${esc(e.name)}`;
    case "alert_off": return `alert off: ${esc(e.name)}`;
    case "track_confirm": return `track ${e.track} confirmed`;
    case "recommend": return `recommend ${esc(e.fireUnit)} → track ${e.track}`;
    default: return null;
  }
}

function addEvents(list) {
  const ol = $("events");
  for (const e of list) {
    addMark(e);
    const text = eventText(e);
    if (!text) continue;
    const li = document.createElement("li");
    li.className = e.type;
    li.innerHTML = `<span>${fmtClock(e.t)}</span> ${text}`;
    ol.prepend(li);
    while (ol.children.length > 200) ol.removeChild(ol.lastChild);
  }
}

function drawPanel() {
  $("clock").textContent = fmtClock(state.time);
  const tracks = [...state.tracks.values()].sort((a, b) => a.rank - b.rank);
  $("counts").textContent = `${tracks.length} tracks · ${state.engagements.size} engagements · ${[...state.regions.values()].filter((r) => r.alert).length} regions on alert`;
  $("threats").tBodies[0].innerHTML = tracks.slice(0, 40).map((t) =>
    `<tr><td class="num">${t.rank}</td><td class="num">${t.id}</td><td><span class="sym ${esc(t.class)}" style="transform:none">${classLetter[t.class] || "?"}</span>${esc(t.class)}</td>` +
    `<td>${esc(t.aimAsset || "—")}</td><td class="num">${fmtDur(t.timeToImpact)}</td><td>${esc(t.engagedBy || "")}</td></tr>`).join("");
  const units = [...state.units.values()];
  $("units").tBodies[0].innerHTML = units.map((u) =>
    `<tr><td>${esc(u.id)}</td><td>${esc(u.name)}</td><td class="num">${u.roundsLeft}/${u.magazine}</td><td class="num">${u.channelsBusy}/${u.channels}</td></tr>`).join("");
  // Interceptor stock; a jammer's "rounds" are its engagements, not interceptors, and are left out.
  const stock = new Map();
  for (const u of units) {
    if (u.kind === "ew") continue;
    const s = stock.get(u.name) || [0, 0]; s[0] += u.roundsLeft; s[1] += u.magazine; stock.set(u.name, s);
  }
  $("stock").textContent = "Interceptor stock: " + [...stock.entries()].map(([k, v]) => `${k} ${v[0]}/${v[1]}`).join(" · ");
  const on = [...state.regions.values()].filter((r) => r.alert).sort((a, b) => a.since - b.since);
  $("alerts").innerHTML = on.length === 0 ? "<li>No region on alert</li>" : on.map((r) =>
    `<li class="on" data-region="${esc(r.id)}">${esc(r.name)} — on ${fmtDur(state.time - r.since)}` +
    (r.expectedImpact != null ? `; impact expected in ${fmtDur(r.expectedImpact - state.time)} (lead ${fmtDur(r.expectedImpact - r.since)})` : "") + "</li>").join("");
}

function setTable(table, list) { table.clear(); for (const x of list) table.set(String(x.id), x); }

// On opening a run, frame the defence: its fire units and 150 km around them.
let framed = false;
function frameDefence() {
  if (framed || state.units.size === 0) return;
  framed = true;
  const pts = [...state.units.values()].map((u) => L.latLng(u.lat, u.lon));
  const b = L.latLngBounds(pts);
  map.fitBounds(b.pad(0.05).extend(L.latLng(b.getSouth() - 1.3, b.getWest() - 2.0)).extend(L.latLng(b.getNorth() + 1.3, b.getEast() + 2.0)), { maxZoom: 9 });
}

function applyMessage(m) {
  if (m.type === "snapshot") {
    setTable(state.tracks, m.tracks); setTable(state.units, m.fireUnits); setTable(state.engagements, m.engagements); setTable(state.regions, m.regions);
    setTable(state.sensors, m.sensors || []);
    state.time = m.time; addEvents(m.events || []);
  } else if (m.type === "delta") {
    for (const [name, table] of [["tracks", state.tracks], ["fireUnits", state.units], ["engagements", state.engagements], ["regions", state.regions],
                                 ["sensors", state.sensors]]) {
      if (!m[name]) continue;
      for (const x of m[name].upsert) table.set(String(x.id), x);
      for (const id of m[name].remove) table.delete(String(id));
    }
    state.time = m.time; addEvents(m.events || []);
  }
  if (m.status) setStatus(m.status);
  frameDefence();
  drawPicture();
}

function setStatus(s) {
  state.runStatus = s;
  const el = $("run-status");
  el.textContent = s; el.className = "pill " + s;
}

// ---- Runs: live stream or replay ----
async function refreshRuns(select) {
  const r = await fetch("/api/runs").then((x) => x.json()).catch(() => ({ runs: [] }));
  const sel = $("run-select");
  const health = await fetch("/api/health").then((x) => x.json()).catch(() => ({}));
  // The upload form starts at the server's own pace (--speed).
  if (health.speed != null && !$("speed").dataset.touched) $("speed").value = String(health.speed);
  const options = [];
  if (health.live) options.push(`<option value="live">live feed</option>`);
  for (const run of r.runs) options.push(`<option value="${run.id}">#${run.id} ${esc(run.name)} (${esc(run.status)})</option>`);
  sel.innerHTML = options.join("");
  // Opens on: a run named in the address (?run=ID or ?run=live), else the live feed, else a run
  // going now, else the newest.
  const asked = new URLSearchParams(location.search).get("run");
  const running = r.runs.find((x) => x.status === "running");
  const fallback = health.live ? "live" : (running ? String(running.id) : (r.runs[0] ? String(r.runs[0].id) : null));
  const want = select ?? state.runId ?? asked ?? fallback;
  if (want != null) { sel.value = String(want); if (String(want) !== String(state.runId)) openRun(String(want)); }
}

function resetPicture() {
  for (const t of [state.tracks, state.units, state.engagements, state.regions]) t.clear();
  layers.marks.clearLayers(); $("events").innerHTML = "";
  state.time = 0;
}

async function openRun(id) {
  stopReplay();
  if (state.ws) { state.ws.onclose = null; state.ws.close(); state.ws = null; }
  state.runId = id;
  framed = false;
  resetPicture();
  let status = "live";
  if (id !== "live") {
    const run = await fetch(`/api/runs/${id}`).then((x) => x.json());
    status = run.status;
  }
  setStatus(status);
  if (status === "running" || status === "live") {
    $("mode").textContent = "live";
    connect(id);
  } else {
    await startReplay(id);
  }
}

function connect(id) {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/api/ws?${id === "live" ? "live" : "run=" + id}`);
  state.ws = ws;
  ws.onmessage = (ev) => { try { applyMessage(JSON.parse(ev.data)); } catch (e) { console.error(e); } };
  ws.onclose = () => {
    state.ws = null;
    if (state.runId !== id) return;
    // The run ended (or the server dropped us for falling behind): refresh, then replay or reconnect.
    setTimeout(() => { if (state.runId === id) { state.runId = null; refreshRuns(id); } }, 800);
  };
}

// Replay: the stored frames (every few simulated seconds) and events of a finished run.
async function startReplay(id) {
  $("mode").textContent = "replay";
  const [idx, ev] = await Promise.all([
    fetch(`/api/runs/${id}/frames`).then((x) => x.json()),
    fetch(`/api/runs/${id}/events?type=launch,intercept,miss,jam,impact,alert_on,alert_off,engage&limit=50000`).then((x) => x.json()),
  ]);
  state.replay.times = idx.times || [];
  state.replay.frames = new Map();
  state.replay.events = (ev.events || []).sort((a, b) => a.t - b.t);
  const scrub = $("scrub");
  scrub.min = state.replay.times[0] || 0;
  scrub.max = state.replay.times[state.replay.times.length - 1] || 0;
  scrub.value = scrub.max; scrub.disabled = state.replay.times.length === 0;
  $("play").disabled = scrub.disabled;
  await showReplayAt(Number(scrub.value));
}

async function frameAt(t) {
  const times = state.replay.times;
  let lo = 0, hi = times.length - 1, k = 0;
  while (lo <= hi) { const mid = (lo + hi) >> 1; if (times[mid] <= t) { k = mid; lo = mid + 1; } else hi = mid - 1; }
  if (!state.replay.frames.has(k)) {
    const from = times[k], to = times[Math.min(times.length - 1, k + 59)];
    const r = await fetch(`/api/runs/${state.runId}/frames?from=${from}&to=${to}&limit=60`).then((x) => x.json());
    r.frames.forEach((f, j) => state.replay.frames.set(k + j, f));
  }
  return state.replay.frames.get(k);
}

let lastReplayT = -1;
async function showReplayAt(t) {
  const f = await frameAt(t);
  if (!f) return;
  setTable(state.tracks, f.tracks); setTable(state.units, f.fireUnits); setTable(state.engagements, f.engagements); setTable(state.regions, f.regions);
  // Frames stored before sensors were drawn have none.
  setTable(state.sensors, f.sensors || []);
  state.time = t;
  frameDefence();
  if (t < lastReplayT) { layers.marks.clearLayers(); $("events").innerHTML = ""; lastReplayT = -1; }
  addEvents(state.replay.events.filter((e) => e.t > lastReplayT && e.t <= t));
  lastReplayT = t;
  drawPicture();
}

function stopReplay() {
  state.replay.playing = false;
  if (state.replay.timer) clearInterval(state.replay.timer);
  state.replay.timer = null;
  $("play").textContent = "▶";
  lastReplayT = -1;
}

$("play").onclick = () => {
  if (state.replay.playing) { stopReplay(); return; }
  const scrub = $("scrub");
  if (Number(scrub.value) >= Number(scrub.max)) { scrub.value = scrub.min; layers.marks.clearLayers(); $("events").innerHTML = ""; lastReplayT = -1; }
  state.replay.playing = true;
  $("play").textContent = "❚❚";
  let busy = false;
  state.replay.timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    const speed = Math.max(0.1, Number($("replay-speed").value) || 30);
    const next = Math.min(Number(scrub.max), Number(scrub.value) + 0.25 * speed);
    scrub.value = next;
    await showReplayAt(next);
    busy = false;
    if (next >= Number(scrub.max)) stopReplay();
  }, 250);
};
$("scrub").oninput = () => showReplayAt(Number($("scrub").value));
$("run-select").onchange = () => openRun($("run-select").value);

// ---- Starting a run by uploading a scenario ----
$("upload-toggle").onclick = () => { $("upload").hidden = !$("upload").hidden; };
$("speed").oninput = () => { $("speed").dataset.touched = "1"; };
$("token").value = localStorage.getItem("canopy.token") || "";
$("upload-form").onsubmit = async (ev) => {
  ev.preventDefault();
  const out = $("upload-result");
  const file = $("scenario-file").files[0];
  if (!file) { out.innerHTML = `<p class="error">Choose a scenario file first.</p>`; return; }
  const token = $("token").value.trim();
  localStorage.setItem("canopy.token", token);
  const q = new URLSearchParams({ file: file.name, speed: $("speed").value || "10" });
  if ($("seed").value) q.set("seed", $("seed").value);
  out.textContent = "Validating…";
  const res = await fetch(`/api/runs?${q}`, { method: "POST", headers: { "Authorization": `Bearer ${token}` }, body: await file.text() });
  const body = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (res.ok) {
    out.innerHTML = `<p class="ok">Run #${body.id} “${esc(body.name)}” started.</p>`;
    await refreshRuns(String(body.id));
  } else {
    const problems = (body.problems || []).map((p) => `<li><code>${esc(p.field || "(file)")}</code>: ${esc(p.message)}</li>`).join("");
    out.innerHTML = `<p class="error">${esc(body.error || "refused")} (HTTP ${res.status})</p>${problems ? `<ul class="problems">${problems}</ul>` : ""}`;
  }
};

loadGeography().then(() => refreshRuns());
setInterval(() => { if (!state.ws && state.runStatus !== "running") return; }, 5000);
