// Line charts in SVG, drawn here (no chart library, no CDN): one chart per metric, each with
// one line per series, y from 0 to the largest value, time on x. Redrawing replaces the SVG.

import { bytes as fmtBytes, esc } from "./format.js";

const W = 360, H = 120, PAD = { l: 58, r: 8, t: 8, b: 18 };
const COLORS = ["#4fb3ff", "#3ecf8e", "#f5a524", "#ff5f6d", "#b48cff", "#5fd4d4"];

/** A short label for a y value: 1.2k, 3.4M. */
function short(v) {
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return a >= 10 || v === 0 ? v.toFixed(0) : v.toFixed(2);
}

/**
 * Draw `lines` ([{label, points: [[t, v], ...]}]) into `el` under `title`.
 * The chart keeps the data-points attribute (how many points it shows) for tests and people.
 */
export function lineChart(el, title, lines, { unit = "", window = 600, bytes = false } = {}) {
  const label = bytes ? fmtBytes : short;
  const ago = window >= 3600 ? `-${window / 3600} h` : `-${Math.round(window / 60)} min`;
  const now = Date.now() / 1000, t0 = now - window;
  const all = lines.flatMap(l => l.points.filter(p => p[0] >= t0));
  const top = Math.max(0, ...all.map(p => p[1])) || 1;   // all zero: an axis up to 1
  const x = t => PAD.l + (W - PAD.l - PAD.r) * (t - t0) / window;
  const y = v => H - PAD.b - (H - PAD.t - PAD.b) * v / top;
  const paths = lines.map((l, i) => {
    const pts = l.points.filter(p => p[0] >= t0).map(p => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`);
    return pts.length ? `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.5"
      points="${pts.join(" ")}"><title>${esc(l.label)}</title></polyline>` : "";
  }).join("");
  const last = lines.map((l, i) => {
    const p = l.points[l.points.length - 1];
    return `<span style="color:${COLORS[i % COLORS.length]}">${esc(l.label)} ${p ? label(p[1]) : "–"}${esc(unit)}</span>`;
  }).join(" ");
  el.innerHTML = `<div class="chart" data-points="${all.length}">
    <div class="chart-title">${esc(title)} <span class="muted">${last}</span></div>
    <svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(title)}">
      <line x1="${PAD.l}" y1="${H - PAD.b}" x2="${W - PAD.r}" y2="${H - PAD.b}" stroke="#263241"/>
      <line x1="${PAD.l}" y1="${PAD.t}" x2="${W - PAD.r}" y2="${PAD.t}" stroke="#263241" stroke-dasharray="3"/>
      <text x="${PAD.l - 4}" y="${PAD.t + 8}" text-anchor="end" fill="#8a9bab" font-size="10">${label(top)}</text>
      <text x="${PAD.l - 4}" y="${H - PAD.b}" text-anchor="end" fill="#8a9bab" font-size="10">0</text>
      <text x="${PAD.l}" y="${H - 4}" fill="#8a9bab" font-size="10">${ago}</text>
      <text x="${W - PAD.r}" y="${H - 4}" text-anchor="end" fill="#8a9bab" font-size="10">now</text>
      ${paths}
    </svg></div>`;
}
