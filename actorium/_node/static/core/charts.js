// A grid of live charts over GET /api/series: which metrics, of what scope and key.

import { api } from "./api.js";
import { lineChart } from "./chart.js";

// Charts of one scope: [title, [metrics on it], unit].
export const CHARTS = {
  cluster: [["Calls and tasks per second", ["calls_per_s", "tasks_per_s"], "/s"],
            ["Call latency", ["p50_ms", "p99_ms"], " ms"],
            ["Tasks", ["tasks_queued", "tasks_running"], ""],
            ["Mailbox depth", ["mailbox", "mailbox_max"], ""],
            ["Runtime CPU (% of a core)", ["cpu_percent"], "%"],
            ["Runtime memory", ["rss_bytes"], "B"],
            ["Object store", ["store_used_bytes", "store_spilled_bytes", "object_bytes"], "B"]],
  class: [["Calls per second", ["calls_per_s", "errors_per_s"], "/s"],
          ["Call latency", ["p50_ms", "p99_ms"], " ms"],
          ["Mailbox depth (queued and running)", ["mailbox"], ""], ["Actors alive", ["actors_alive"], ""],
          ["CPU of its workers (% of a core)", ["cpu_percent"], "%"],
          ["Memory of its workers", ["rss_bytes"], "B"], ["Objects its workers hold", ["object_bytes"], "B"]],
  actor: [["Calls per second", ["calls_per_s"], "/s"], ["Call latency", ["p50_ms", "p99_ms"], " ms"],
          ["Mailbox depth (queued and running)", ["mailbox"], ""], ["Worker CPU (% of a core)", ["cpu_percent"], "%"],
          ["Worker memory", ["rss_bytes"], "B"], ["Objects its worker holds", ["object_bytes"], "B"]],
};
CHARTS.node = CHARTS.cluster;

// How far back a chart looks (the runtime keeps an hour); shared by every chart grid of the tab.
export const WINDOWS = [[300, "5 min"], [600, "10 min"], [1800, "30 min"], [3600, "1 hour"]];
let chosenWindow = 600;

/** A <select> of the windows; `onChange(seconds)` when the user picks one. */
function windowPicker(onChange) {
  const select = document.createElement("select");
  select.className = "chart-window";
  select.setAttribute("aria-label", "chart window");
  select.innerHTML = WINDOWS.map(([s, label]) =>
    `<option value="${s}" ${s === chosenWindow ? "selected" : ""}>last ${label}</option>`).join("");
  select.addEventListener("change", () => { chosenWindow = Number(select.value); onChange(chosenWindow); });
  return select;
}

/**
 * Fill `el` with the charts of `scope` (and `key`), redrawn every 2 s while `view` lasts, over
 * the window the user picks (5 min to the hour the runtime keeps). Only the charted metrics
 * are fetched.
 */
export async function liveCharts(el, view, scope, key = "", { node = "", charts = CHARTS[scope] } = {}) {
  el.innerHTML = `<div class="chart-bar"></div><div class="charts">${charts.map((_, i) => `<div data-chart="${i}"></div>`).join("")}</div>`;
  const query = new URLSearchParams({ scope, metric: [...new Set(charts.flatMap(c => c[1]))].join(",") });
  if (key) query.set("key", key);
  if (node) query.set("node", node);
  const draw = async () => {
    query.set("window", String(chosenWindow));
    const rows = await api(`/api/series?${query}`, { signal: view.signal });
    if (!view.active) return;
    charts.forEach(([title, metrics, unit], i) => {
      const lines = metrics.map(m => ({ label: m.replace(/_per_s|_ms|_bytes|_percent/, ""),
        points: rows.filter(r => r.metric === m).flatMap(r => r.points) }));
      lineChart(el.querySelector(`[data-chart="${i}"]`), title, lines,
                { unit: unit === "B" ? "" : unit, window: chosenWindow, bytes: unit === "B" });
    });
  };
  el.querySelector(".chart-bar").appendChild(windowPicker(() => draw()));
  await draw();
  view.every(2000, draw);
}

// What to chart of an application metric (util.metrics), by the metrics its series has.
function appChart(metrics) {
  if (metrics.includes("p50")) return [["p50", "p99"], ""];     // a histogram: its quantiles
  if (metrics.includes("rate")) return [["rate"], "/s"];        // a counter: its rate
  return [["value"], ""];                                       // a gauge: its value
}

/**
 * One chart per application metric and tag set (the "app" series), for the Metrics page;
 * `filter()` says which keys to show. Redrawn every 2 s while `view` lasts; at most `most`.
 */
export async function appCharts(el, view, filter = () => true, { most = 24 } = {}) {
  const draw = async () => {
    const rows = await api(`/api/series?scope=app&window=${chosenWindow}`, { signal: view.signal });
    if (!view.active) return;
    const byKey = new Map();
    for (const r of rows) { if (!byKey.has(r.key)) byKey.set(r.key, []); byKey.get(r.key).push(r); }
    const keys = [...byKey.keys()].filter(filter).sort().slice(0, most);
    if (el.dataset.keys !== keys.join("\n")) {
      el.dataset.keys = keys.join("\n");
      el.innerHTML = keys.length ? `<div class="charts">${keys.map((_, i) => `<div data-chart="${i}"></div>`).join("")}</div>`
        : `<p class="muted">No samples yet (the runtime samples every 2 s).</p>`;
    }
    keys.forEach((key, i) => {
      const series = byKey.get(key);
      const [metrics, unit] = appChart(series.map(r => r.metric));
      const lines = metrics.map(m => ({ label: m, points: series.filter(r => r.metric === m).flatMap(r => r.points) }));
      lineChart(el.querySelector(`[data-chart="${i}"]`), key, lines, { unit, window: chosenWindow });
    });
  };
  el.before(windowPicker(() => draw()));
  await draw();
  view.every(2000, draw);
}
