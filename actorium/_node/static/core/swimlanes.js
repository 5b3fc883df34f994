// A zoomable chart of what ran where, in SVG: one row per worker (grouped by node), one bar
// per task or actor call, coloured by its function or class, lifecycle marks as ticks.
// Input is the Chrome trace the API serves (/api/timeline); times are microseconds.

import { colorOf, esc } from "./format.js";

const ROW = 18, LEFT = 210, WIDTH = 1000, TOP = 22;

/**
 * The time (µs) under a pointer at clientX over the chart drawn in `el` for [t0, t1], and the
 * fraction of the time axis it sits at (0 at the left edge of the bars, 1 at the right).
 */
export function timeAt(el, clientX, t0, t1) {
  const svg = el.querySelector("svg");
  if (!svg) return null;
  const box = svg.getBoundingClientRect();
  const x = (clientX - box.left) * WIDTH / Math.max(1, box.width);
  const fraction = Math.min(1, Math.max(0, (x - LEFT) / (WIDTH - LEFT)));
  return { t: t0 + fraction * (t1 - t0), fraction };
}

/** The colour key of a call: the class of an actor call ("Pump.spin" -> Pump), else the name. */
export function colourKey(name) { return name.includes(".") ? name.split(".")[0] : name; }

/**
 * Draw `events` into `el` between times t0 and t1 (µs). Returns how many bars were drawn
 * (the chart keeps it in data-bars, for tests and people).
 */
export function swimlanes(el, events, t0, t1) {
  const labels = new Map();
  for (const e of events) if (e.ph === "M" && e.name === "thread_name") labels.set(`${e.pid}|${e.tid}`, e.args.name);
  const rows = new Map();
  const rowOf = e => {
    const key = `${e.pid}|${e.tid}`;
    if (!rows.has(key)) rows.set(key, { key, label: labels.get(key) || e.tid, pid: e.pid, bars: [], marks: [] });
    return rows.get(key);
  };
  for (const e of events) {
    if (e.ph === "X" && e.ts + e.dur >= t0 && e.ts <= t1) rowOf(e).bars.push(e);
    else if (e.ph === "i" && e.ts >= t0 && e.ts <= t1) rowOf(e).marks.push(e);
  }
  const ordered = [...rows.values()].sort((a, b) => a.pid.localeCompare(b.pid) || a.label.localeCompare(b.label));
  const span = Math.max(1, t1 - t0);
  const x = t => LEFT + (WIDTH - LEFT) * (t - t0) / span;
  let bars = 0;
  const keys = new Set();
  const body = ordered.map((row, i) => {
    const y = TOP + i * ROW;
    const rects = row.bars.map(e => {
      bars++;
      const key = colourKey(e.name); keys.add(key);
      const left = Math.max(LEFT, x(e.ts)), right = Math.min(WIDTH, x(e.ts + e.dur));
      const actor = e.args?.actor_id ? ` data-actor="${esc(e.args.actor_id)}" class="clickable"` : "";
      return `<rect${actor} x="${left.toFixed(1)}" y="${y + 2}" width="${Math.max(1, right - left).toFixed(1)}" height="${ROW - 5}"
        fill="${e.cname === "terrible" ? "#ff5f6d" : colorOf(key)}"><title>${esc(e.name)} · ${(e.dur / 1000).toFixed(2)} ms${e.args?.ok === false ? " · raised" : ""}</title></rect>`;
    }).join("");
    const ticks = row.marks.map(e => `<line x1="${x(e.ts).toFixed(1)}" x2="${x(e.ts).toFixed(1)}" y1="${y}" y2="${y + ROW - 2}"
        stroke="${e.name.endsWith("died") ? "#ff5f6d" : "#f5a524"}" stroke-width="2"><title>${esc(e.args?.message || e.name)}</title></line>`).join("");
    return `<text x="4" y="${y + ROW - 6}" fill="#8a9bab" font-size="11">${esc(row.label.slice(0, 30))}</text>
      <line x1="${LEFT}" x2="${WIDTH}" y1="${y + ROW - 1}" y2="${y + ROW - 1}" stroke="#1d2630"/>${rects}${ticks}`;
  }).join("");
  const height = TOP + Math.max(1, ordered.length) * ROW + 4;
  const seconds = span / 1e6;
  const legend = [...keys].sort().map(k => `<span class="swatch" style="background:${colorOf(k)}"></span>${esc(k)}`).join(" ") +
    ` <span class="muted"><span class="swatch" style="background:#ff5f6d"></span>raised or died
      <span class="swatch" style="background:#f5a524"></span>started</span>`;
  el.innerHTML = `<div class="lanes" data-bars="${bars}" data-rows="${ordered.length}">
    <svg viewBox="0 0 ${WIDTH} ${height}" width="100%" role="img" aria-label="timeline of tasks and actor calls">
      <text x="${LEFT}" y="14" fill="#8a9bab" font-size="11">${new Date(t0 / 1000).toLocaleTimeString()}</text>
      <text x="${WIDTH}" y="14" text-anchor="end" fill="#8a9bab" font-size="11">+${seconds.toFixed(seconds < 1 ? 3 : 1)} s</text>
      ${body || `<text x="${LEFT}" y="${TOP + 12}" fill="#8a9bab" font-size="12">nothing ran in this window</text>`}
    </svg><div class="legend">${legend}</div></div>`;
  return bars;
}
