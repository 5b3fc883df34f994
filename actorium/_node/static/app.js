// actorium dashboard: a small single-page app over the JSON API; no external assets.
"use strict";

const state = { page: "overview", summary: null, logs: [], events: [], actorFilter: "",
                stateFilter: "", logFilter: "", timer: null };
const TITLES = { overview: "Overview", actors: "Actors", actor: "Actor", tasks: "Tasks",
                 objects: "Objects", logs: "Logs", timeline: "Timeline" };

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;",
    '"': "&quot;", "'": "&#39;"}[c]));
}
function bytes(n) {
  if (n == null) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}
// Ids share their job prefix; the distinguishing part is at the end.
function shortId(id) { id = String(id ?? ""); return id.length > 16 ? `${id.slice(0, 6)}…${id.slice(-8)}` : id; }
function clock(t) { return new Date(t * 1000).toLocaleTimeString(); }
function badge(s) { return `<span class="state ${esc(s)}">${esc(s)}</span>`; }
function flash(text) {
  const el = document.getElementById("flash"); el.textContent = text;
  setTimeout(() => { if (el.textContent === text) el.textContent = ""; }, 5000);
}
async function api(path) {
  const response = await fetch(path, { headers: { "Accept": "application/json" } });
  if (!response.ok) throw new Error((await response.json()).error || response.statusText);
  return response.json();
}
function token() { return sessionStorage.getItem("actorium-token") || ""; }

async function act(actorId, action) {
  if (!token()) { askToken(); if (!token()) return; }
  const response = await fetch(`/api/actors/${actorId}/${action}`, {
    method: "POST", body: "{}",
    headers: { "Content-Type": "application/json", "Authorization": `Bearer ${token()}` } });
  const body = await response.json();
  flash(response.ok ? `${action} sent to ${shortId(actorId)}` : `refused: ${body.error}`);
  setTimeout(render, 300);
}
function askToken() {
  const value = prompt("Cluster token (printed by `actorium start --head`, or init()'s dashboard_token):", token());
  if (value !== null) sessionStorage.setItem("actorium-token", value.trim());
}

// ---------------------------------------------------------------- pages
const pages = {
  async overview(el) {
    const s = state.summary || await api("/api/summary");
    const node = s.nodes[0] || {};
    const total = node.resources_total || {}, free = node.resources_available || {};
    const cpuUsed = (total.CPU || 0) - (free.CPU || 0);
    const mem = node.memory || { total: 0, available: 0 };
    const actors = Object.entries(s.actors_by_state).map(([k, v]) => `${badge(k)} ${v}`).join(" ");
    el.innerHTML = `
      <div class="cards">
        <div class="card"><div class="k">Nodes</div><div class="v">${s.nodes.length}</div></div>
        <div class="card"><div class="k">CPU reserved</div><div class="v">${cpuUsed} / ${total.CPU || 0}</div>
          <div class="bar"><div style="width:${total.CPU ? 100 * cpuUsed / total.CPU : 0}%"></div></div></div>
        <div class="card"><div class="k">Machine CPU</div><div class="v">${node.cpu_percent ?? "–"}%</div>
          <div class="bar"><div style="width:${node.cpu_percent || 0}%"></div></div></div>
        <div class="card"><div class="k">Memory used</div><div class="v">${bytes(mem.total - mem.available)}</div>
          <div class="muted">of ${bytes(mem.total)}</div></div>
        <div class="card"><div class="k">Workers</div><div class="v">${s.workers}</div></div>
        <div class="card"><div class="k">Actor calls</div><div class="v">${s.calls}</div></div>
        <div class="card"><div class="k">Tasks</div><div class="v">${s.tasks.running} running</div>
          <div class="muted">${s.tasks.queued} queued · ${s.tasks.finished} done · ${s.tasks.failed} failed</div></div>
        <div class="card"><div class="k">Objects</div><div class="v">${s.objects.count}</div>
          <div class="muted">${bytes(s.objects.bytes)}</div></div>
      </div>
      <h2>Actors</h2><div>${actors || '<span class="muted">none yet</span>'}</div>
      <h2>Nodes</h2>
      <table><tr><th>Node</th><th>Host</th><th>State</th><th>Resources (free / total)</th><th>Up</th></tr>
      ${s.nodes.map(n => `<tr><td class="mono">${esc(shortId(n.node_id))}</td><td>${esc(n.hostname)}</td>
        <td>${badge(n.state)}</td><td>${Object.keys(n.resources_total).filter(k => k !== "memory")
          .map(k => `${esc(k)} ${n.resources_available[k] ?? 0}/${n.resources_total[k]}`).join(", ")}</td>
        <td>${Math.round(n.uptime_s)} s</td></tr>`).join("")}</table>`;
  },

  async actors(el) {
    const query = new URLSearchParams();
    if (state.stateFilter) query.set("state", state.stateFilter);
    if (state.actorFilter) query.set("search", state.actorFilter);
    const rows = await api(`/api/actors?${query}`);
    el.innerHTML = `
      <div class="toolbar">
        <input id="search" placeholder="search id, class or name" value="${esc(state.actorFilter)}">
        <select id="state-filter">${["", "ALIVE", "PENDING_CREATION", "RESTARTING", "DEAD"].map(s =>
          `<option value="${s}" ${s === state.stateFilter ? "selected" : ""}>${s || "any state"}</option>`).join("")}</select>
        <span class="muted">${rows.length} actor(s)</span>
      </div>
      <table id="actors-table"><tr><th>Actor</th><th>Class</th><th>Name</th><th>State</th><th>Worker pid</th>
        <th>Restarts</th><th>Pending</th><th></th></tr>
      ${rows.map(a => `<tr class="clickable" data-actor="${esc(a.actor_id)}">
        <td class="mono">${esc(shortId(a.actor_id))}</td><td>${esc(a.class_name)}</td><td>${esc(a.name)}</td>
        <td>${badge(a.state)}</td><td>${esc(a.pid ?? "")}</td><td>${a.restarts}</td><td>${a.pending_calls}</td>
        <td>${a.state !== "DEAD" ? `<button class="danger" data-kill="${esc(a.actor_id)}">Kill</button>
          <button data-restart="${esc(a.actor_id)}">Restart</button>` : ""}</td></tr>`).join("")}</table>`;
    const search = el.querySelector("#search");
    search.addEventListener("change", () => { state.actorFilter = search.value; render(); });
    el.querySelector("#state-filter").addEventListener("change", e => { state.stateFilter = e.target.value; render(); });
    el.querySelectorAll("[data-kill]").forEach(b => b.addEventListener("click", e => {
      e.stopPropagation(); act(b.dataset.kill, "kill"); }));
    el.querySelectorAll("[data-restart]").forEach(b => b.addEventListener("click", e => {
      e.stopPropagation(); act(b.dataset.restart, "restart"); }));
    el.querySelectorAll("tr[data-actor]").forEach(r => r.addEventListener("click", () => {
      location.hash = `#actor/${r.dataset.actor}`; }));
  },

  async actor(el, actorId) {
    const a = await api(`/api/actors/${actorId}`);
    el.innerHTML = `
      <div class="cards">
        <div class="card"><div class="k">Class</div><div class="v">${esc(a.class_name)}</div></div>
        <div class="card"><div class="k">State</div><div class="v">${badge(a.state)}</div></div>
        <div class="card"><div class="k">Restarts</div><div class="v">${a.restarts}</div></div>
        <div class="card"><div class="k">Pending calls</div><div class="v">${a.pending_calls}</div></div>
      </div>
      <p class="mono muted">${esc(a.actor_id)} · worker pid ${esc(a.pid ?? "–")} · ${esc(a.name || "unnamed")}</p>
      ${a.death_reason ? `<p class="err-text">${esc(a.death_reason)}</p>` : ""}
      ${a.state !== "DEAD" ? `<button class="danger" id="kill">Kill</button> <button id="restart">Restart</button>` : ""}
      <h2>Recent calls</h2>
      <table><tr><th>Time</th><th>Method</th><th>ms</th><th>Result</th></tr>
      ${a.recent_calls.slice().reverse().map(c => `<tr><td>${clock(c.time)}</td><td>${esc(c.name)}</td>
        <td>${c.ms}</td><td>${c.ok ? "ok" : '<span class="err-text">raised</span>'}</td></tr>`).join("")}</table>
      <h2>Log lines</h2><div class="logs" style="height:30vh">${a.logs.map(logLine).join("")}</div>
      <h2>Events</h2><div class="timeline">${a.events.slice().reverse().map(eventRow).join("")}</div>`;
    const kill = el.querySelector("#kill"), restart = el.querySelector("#restart");
    if (kill) kill.addEventListener("click", () => act(a.actor_id, "kill"));
    if (restart) restart.addEventListener("click", () => act(a.actor_id, "restart"));
  },

  async tasks(el) {
    const rows = await api("/api/tasks");
    el.innerHTML = `<table><tr><th>Task</th><th>Function</th><th>State</th><th>Worker pid</th><th>Error</th></tr>
      ${rows.slice().reverse().map(t => `<tr><td class="mono">${esc(shortId(t.task_id))}</td><td>${esc(t.name)}</td>
        <td>${badge(t.state)}</td><td>${esc(t.pid ?? "")}</td><td class="err-text">${esc(t.error)}</td></tr>`).join("")}
      </table>${rows.length ? "" : '<p class="muted">No queued, running or failed tasks.</p>'}`;
  },

  async objects(el) {
    const rows = await api("/api/objects");
    el.innerHTML = `<table><tr><th>Object</th><th>Size</th><th>State</th><th>Held by</th><th>Owner</th>
      <th>Refs</th><th>Borrowers</th><th>Where</th></tr>
      ${rows.map(o => `<tr><td class="mono">${esc(shortId(o.object_id))}</td><td>${bytes(o.size_bytes)}</td>
        <td>${badge(o.state)}</td><td>${esc(o.holder_role)} ${esc(o.holder_pid)}</td><td>${esc(o.owner)}</td>
        <td>${o.local_refs}</td><td>${o.borrowers}</td><td>${esc(o.location)}</td></tr>`).join("")}</table>
      ${rows.length ? "" : '<p class="muted">No objects held.</p>'}`;
  },

  async logs(el) {
    if (!state.logs.length) state.logs = await api("/api/logs?limit=1000");
    el.innerHTML = `<div class="toolbar"><input id="log-filter" placeholder="filter (text, class, pid)"
      value="${esc(state.logFilter)}"><span class="muted">streamed live</span></div>
      <div class="logs" id="log-box"></div>`;
    const input = el.querySelector("#log-filter");
    input.addEventListener("input", () => { state.logFilter = input.value; fillLogs(); });
    fillLogs();
  },

  async timeline(el) {
    state.events = await api("/api/events");
    el.innerHTML = `<div class="timeline" id="events">${state.events.slice().reverse().map(eventRow).join("")}</div>`;
  },
};

function logLine(l) {
  const origin = l.origin ? l.origin.split(":")[0] : "worker";
  return `<div class="line ${l.stream === "err" ? "err" : ""}"><span class="origin">(${esc(origin)} pid=${l.pid})</span> ${esc(l.text)}</div>`;
}
function fillLogs() {
  const box = document.getElementById("log-box"); if (!box) return;
  const f = state.logFilter.toLowerCase();
  const lines = state.logs.filter(l => !f || `${l.origin} ${l.pid} ${l.text}`.toLowerCase().includes(f));
  const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 20;
  box.innerHTML = lines.slice(-2000).map(logLine).join("");
  if (atBottom) box.scrollTop = box.scrollHeight;
}
function eventRow(e) {
  return `<div class="ev ${esc(e.kind)}"><span class="t">${clock(e.time)}</span><span class="kind">${esc(e.kind)}</span>
    <span>${esc(e.message)}</span></div>`;
}

// ---------------------------------------------------------------- routing and live updates
async function render() {
  const [page, arg] = (location.hash.slice(1) || "overview").split("/");
  state.page = pages[page] ? page : "overview";
  document.getElementById("title").textContent = TITLES[state.page] + (arg ? ` ${shortId(arg)}` : "");
  document.querySelectorAll("nav a").forEach(a => a.classList.toggle("active",
    a.dataset.page === state.page || (state.page === "actor" && a.dataset.page === "actors")));
  const el = document.getElementById("page");
  try { await pages[state.page](el, arg); } catch (err) { el.innerHTML = `<p class="err-text">${esc(err.message)}</p>`; }
}

function connect() {
  const live = document.getElementById("live");
  const source = new EventSource("/api/stream");
  source.addEventListener("open", () => { live.className = "live on"; });
  source.addEventListener("error", () => { live.className = "live off"; });
  source.addEventListener("summary", e => {
    state.summary = JSON.parse(e.data);
    if (state.page === "overview") render();
  });
  source.addEventListener("log", e => {
    state.logs.push(...JSON.parse(e.data)); state.logs = state.logs.slice(-5000);
    if (state.page === "logs") fillLogs();
  });
  source.addEventListener("event", e => {
    const ev = JSON.parse(e.data); state.events.push(ev);
    if (state.page === "timeline") {
      const box = document.getElementById("events");
      if (box) box.insertAdjacentHTML("afterbegin", eventRow(ev));
    }
    if (state.page === "actors" || state.page === "actor") render();
  });
}

window.addEventListener("DOMContentLoaded", () => {
  const params = new URLSearchParams(location.search);
  if (params.has("token")) {
    sessionStorage.setItem("actorium-token", params.get("token"));
    history.replaceState(null, "", location.pathname + location.hash);
  }
  document.getElementById("token-button").addEventListener("click", askToken);
  window.addEventListener("hashchange", render);
  render();
  connect();
  // Tables without a live event source (tasks, objects, actors' pending counts) refresh.
  state.timer = setInterval(() => { if (["actors", "tasks", "objects"].includes(state.page)) render(); }, 2000);
});
