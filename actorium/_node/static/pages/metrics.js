// Metrics: the application metrics that user code records with actorium.util.metrics
// (Counter, Gauge, Histogram), merged over every node; what Prometheus scrapes at /metrics.

import { api } from "../core/api.js";
import { appCharts } from "../core/charts.js";
import { clock, count, esc, shortId } from "../core/format.js";
import { registerPage } from "../core/router.js";

// This page's own styles (kept with the page, not in the shared style sheet).
const STYLE = `
.hist { display:flex; gap:4px; align-items:flex-end; height:42px; }
.hist-cell { display:flex; flex-direction:column; align-items:center; min-width:26px; }
.hist-bar { width:14px; background:var(--accent); border-radius:2px 2px 0 0; min-height:1px; }
.hist-label { font-size:10px; color:var(--dim); }
.metric-value { font-size:16px; font-weight:600; }`;

function addStyle() {
  if (document.getElementById("metrics-page-style")) return;
  const style = document.createElement("style");
  style.id = "metrics-page-style";
  style.textContent = STYLE;
  document.head.appendChild(style);
}

function tags(row) {
  const pairs = Object.entries(row.tags || {});
  return pairs.length ? pairs.map(([k, v]) => `<code>${esc(k)}=${esc(v)}</code>`).join(" ")
                      : '<span class="muted">–</span>';
}

function number(value) {
  if (value == null) return "–";
  return Number.isInteger(value) ? count(value) : Number(value).toPrecision(6).replace(/\.?0+$/, "");
}

// A histogram as its buckets: one small bar per bucket, with the upper bound as its label.
function distribution(row) {
  const bounds = [...(row.boundaries || []).map(String), "+Inf"];
  const most = Math.max(1, ...row.buckets);
  const cells = row.buckets.map((n, i) =>
    `<span class="hist-cell" title="le ${esc(bounds[i])}: ${n}">
       <span class="hist-bar" style="height:${Math.round(24 * n / most)}px"></span>
       <span class="hist-label">${esc(bounds[i])}</span></span>`).join("");
  const mean = row.count ? row.sum / row.count : 0;
  return `<div class="hist">${cells}</div>
          <div class="muted">count ${count(row.count)} · sum ${number(row.sum)} · mean ${number(mean)}</div>`;
}

function value(row) {
  if (row.kind === "histogram") return distribution(row);
  const when = row.kind === "gauge" && row.time ? ` <span class="muted">set ${clock(row.time)}</span>` : "";
  return `<span class="metric-value">${number(row.value)}</span>${when}`;
}

async function fill(el, view, filter) {
  const rows = await api("/api/app_metrics", { signal: view.signal });
  if (!view.active) return;
  const needle = filter.value.trim().toLowerCase();
  const shown = rows.filter(r => !needle || r.name.toLowerCase().includes(needle));
  const body = el.querySelector("#metric-rows");
  body.innerHTML = shown.length ? `<table>
    <tr><th>Metric</th><th>Kind</th><th>Tags</th><th>Value</th><th>Node</th></tr>
    ${shown.map(r => `<tr data-metric="${esc(r.name)}">
      <td><span class="mono">${esc(r.name)}</span><div class="muted">${esc(r.description || "")}</div></td>
      <td>${esc(r.kind)}</td><td>${tags(r)}</td><td>${value(r)}</td>
      <td class="mono">${esc(shortId(r.node_id || ""))}</td></tr>`).join("")}</table>`
    : `<p class="muted">${rows.length ? "No metric matches." :
        "No application metrics yet: record some with actorium.util.metrics (Counter, Gauge, " +
        "Histogram) in the driver, a task or an actor."}</p>`;
}

registerPage({
  name: "metrics", title: "Metrics", nav: "Metrics", order: 45,
  async show(el, _arg, view) {
    addStyle();
    el.innerHTML = `<p class="muted">Recorded with <code>actorium.util.metrics</code> on every node,
      merged (counters and histograms summed, the latest gauge); Prometheus scrapes the same at
      <a href="/metrics"><code>/metrics</code></a>.</p>
      <p><input id="metric-filter" placeholder="filter by name" autocomplete="off"></p>
      <div id="metric-rows"></div>
      <h2>Over time</h2><div id="metric-charts"></div>`;
    const filter = el.querySelector("#metric-filter");
    filter.addEventListener("input", () => fill(el, view, filter));
    await fill(el, view, filter);
    const wanted = key => key.toLowerCase().includes(filter.value.trim().toLowerCase());
    await appCharts(el.querySelector("#metric-charts"), view, wanted);
    view.every(2000, () => fill(el, view, filter));
  },
});
