// Timeline: what ran where (tasks and actor calls per worker, zoomable, exportable in Chrome's
// trace format as ray.timeline() writes it), and the events told in groups that drill down.

import { api } from "../core/api.js";
import { clock, count, esc } from "../core/format.js";
import { registerPage } from "../core/router.js";
import { eventRow } from "../core/rows.js";
import { swimlanes, timeAt } from "../core/swimlanes.js";

const WINDOWS = [10, 30, 60, 300, 900];
const KEEP_S = 900, OVERLAP_S = 10;

function groupRow(g) {
  const span = g.count > 1 ? ` <span class="muted">over ${(g.last_time - g.first_time).toFixed(1)} s</span>` : "";
  return `<div class="ev ${esc(g.kind)}" data-group="${esc(g.node_id)}:${g.group}"><span class="t">${clock(g.last_time)}</span>
    <span class="kind">${esc(g.kind)}</span><span>${esc(g.message)}${span}
    ${g.count > 1 ? `<button data-drill="${esc(g.node_id)}:${g.group}">show ${count(g.count)}</button>` : ""}</span></div>
    <div class="drill" data-drilled="${esc(g.node_id)}:${g.group}"></div>`;
}

registerPage({
  name: "timeline", title: "Timeline", nav: "Timeline", order: 60,
  async show(el, _arg, view) {
    el.innerHTML = `
      <div class="toolbar">
        <span>Last</span><select id="window">${WINDOWS.map(w => `<option value="${w}" ${w === 60 ? "selected" : ""}>${w < 60 ? `${w} s` : `${w / 60} min`}</option>`).join("")}</select>
        <button id="zoom-in">zoom in</button><button id="zoom-out">zoom out</button>
        <button id="earlier">‹</button><button id="later">›</button><button id="follow">follow live</button>
        <a id="export" href="/api/timeline?download=1" download><button>Export trace (Chrome format)</button></a>
        <span class="muted" id="lane-info"></span>
      </div>
      <div id="lanes"></div>
      <h2>Events</h2><div class="timeline" id="events"></div>`;
    const lanes = el.querySelector("#lanes");
    // The shown window: [end - span, end] in µs; end follows now unless the user moved it.
    let span = 60e6, end = null, trace = [];
    const draw = () => {
      const t1 = end ?? Date.now() * 1000;
      const bars = swimlanes(lanes, trace, t1 - span, t1);
      el.querySelector("#lane-info").textContent = `${count(bars)} call(s) in view${end ? "" : " · live"}`;
    };
    // The first load asks for the last 15 minutes; each refresh after it only for what ended
    // since the latest end already seen (less an overlap for calls reported late, dropped as
    // duplicates), so that a refresh every 2 s does not resend megabytes of calls. The cursor
    // is in the server's time, so a browser whose clock differs misses nothing.
    const seen = new Set(), keyOf = e => `${e.ph}|${e.pid}|${e.tid}|${e.ts}|${e.name}`;
    let latestEnd = null;
    const load = async () => {
      const since = latestEnd === null ? Date.now() / 1000 - KEEP_S : latestEnd - OVERLAP_S;
      const fresh = await api(`/api/timeline?since=${since.toFixed(3)}`, { signal: view.signal });
      for (const e of fresh) {
        const key = keyOf(e);
        if (seen.has(key)) continue;
        seen.add(key); trace.push(e);
        if (e.ts !== undefined) latestEnd = Math.max(latestEnd ?? 0, (e.ts + (e.dur || 0)) / 1e6);
      }
      const oldest = (latestEnd ?? 0) * 1e6 - KEEP_S * 1e6;
      if (trace.some(e => e.ts !== undefined && e.ts + (e.dur || 0) < oldest)) {
        trace = trace.filter(e => e.ts === undefined || e.ts + (e.dur || 0) >= oldest);
        seen.clear(); for (const e of trace) seen.add(keyOf(e));
      }
      if (view.active) draw();
    };
    const zoom = factor => { span = Math.min(900e6, Math.max(1e4, span * factor)); draw(); };
    el.querySelector("#window").addEventListener("change", e => { span = Number(e.target.value) * 1e6; draw(); });
    el.querySelector("#zoom-in").addEventListener("click", () => zoom(0.5));
    el.querySelector("#zoom-out").addEventListener("click", () => zoom(2));
    el.querySelector("#earlier").addEventListener("click", () => { end = (end ?? Date.now() * 1000) - span / 2; draw(); });
    el.querySelector("#later").addEventListener("click", () => {
      end = (end ?? Date.now() * 1000) + span / 2; if (end >= Date.now() * 1000) end = null; draw(); });
    el.querySelector("#follow").addEventListener("click", () => { end = null; draw(); });
    // The wheel zooms around the time under the pointer; dragging pans; a call opens its actor.
    const follow = () => { if (end !== null && end >= Date.now() * 1000) end = null; };
    lanes.addEventListener("wheel", e => {
      e.preventDefault();
      const t1 = end ?? Date.now() * 1000, at = timeAt(lanes, e.clientX, t1 - span, t1);
      const factor = e.deltaY < 0 ? 0.8 : 1.25;
      const next = Math.min(900e6, Math.max(1e4, span * factor));
      if (at) { end = at.t + (1 - at.fraction) * next; follow(); }
      span = next; draw();
    }, { passive: false });
    let dragFrom = null, dragged = false;
    lanes.addEventListener("mousedown", e => { dragFrom = { x: e.clientX, end: end ?? Date.now() * 1000 }; dragged = false; });
    window.addEventListener("mouseup", () => { dragFrom = null; }, { signal: view.signal });
    lanes.addEventListener("mousemove", e => {
      if (!dragFrom) return;
      const t1 = dragFrom.end, from = timeAt(lanes, dragFrom.x, t1 - span, t1), to = timeAt(lanes, e.clientX, t1 - span, t1);
      if (!from || !to || Math.abs(e.clientX - dragFrom.x) < 3) return;
      dragged = true; end = t1 - (to.t - from.t); follow(); draw();
    });
    lanes.addEventListener("click", e => {
      const bar = e.target.closest("rect[data-actor]");
      if (bar && !dragged) location.hash = `#actor/${bar.dataset.actor}`;
    });

    const events = el.querySelector("#events");
    const groups = new Map();
    const fillEvents = async () => {
      const rows = await api("/api/fleet/events", { signal: view.signal });
      if (!view.active) return;
      for (const g of rows) groups.set(`${g.node_id}:${g.group}`, g);
      const open = new Set([...events.querySelectorAll(".drill:not(:empty)")].map(d => d.dataset.drilled));
      events.innerHTML = [...groups.values()].sort((a, b) => b.last_time - a.last_time).slice(0, 500).map(groupRow).join("");
      for (const key of open) drill(key);
    };
    const drill = async key => {
      const g = groups.get(key), box = events.querySelector(`[data-drilled="${CSS.escape(key)}"]`);
      if (!g || !box) return;
      const query = new URLSearchParams({ kind: g.kind, class_name: g.class_name, since: g.first_time, until: g.last_time });
      const found = (await api(`/api/fleet/events/drill?${query}`, { signal: view.signal }))
        .filter(e => e.node_id === undefined || e.node_id === g.node_id);
      box.innerHTML = found.slice().reverse().map(eventRow).join("") +
        (found.length < g.count ? `<p class="muted">${count(g.count - found.length)} older event(s) of this group are no longer kept</p>` : "");
    };
    events.addEventListener("click", e => {
      const button = e.target.closest("[data-drill]");
      if (!button) return;
      const box = events.querySelector(`[data-drilled="${CSS.escape(button.dataset.drill)}"]`);
      if (box && box.innerHTML) box.innerHTML = ""; else drill(button.dataset.drill);
    });
    await Promise.all([load(), fillEvents()]);
    view.every(2000, load);
    view.every(2000, fillEvents);
  },
});
