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
            ["Object store", ["store_used_bytes", "store_spilled_bytes"], "B"]],
  class: [["Calls per second", ["calls_per_s", "errors_per_s"], "/s"],
          ["Call latency", ["p50_ms", "p99_ms"], " ms"],
          ["Mailbox depth", ["mailbox"], ""], ["Actors alive", ["actors_alive"], ""]],
  actor: [["Calls per second", ["calls_per_s"], "/s"], ["Call latency", ["p50_ms", "p99_ms"], " ms"],
          ["Mailbox depth", ["mailbox"], ""], ["Worker CPU (% of a core)", ["cpu_percent"], "%"],
          ["Worker memory", ["rss_bytes"], "B"]],
};
CHARTS.node = CHARTS.cluster;

/** Fill `el` with the charts of `scope` (and `key`), redrawn every 2 s while `view` lasts. */
export async function liveCharts(el, view, scope, key = "", { node = "", charts = CHARTS[scope] } = {}) {
  el.innerHTML = `<div class="charts">${charts.map((_, i) => `<div data-chart="${i}"></div>`).join("")}</div>`;
  const query = new URLSearchParams({ scope: scope === "node" ? "node" : scope, window: "600" });
  if (key) query.set("key", key);
  if (node) query.set("node", node);
  const draw = async () => {
    const rows = await api(`/api/series?${query}`, { signal: view.signal });
    if (!view.active) return;
    charts.forEach(([title, metrics, unit], i) => {
      const lines = metrics.map(m => ({ label: m.replace(/_per_s|_ms|_bytes|_percent/, ""),
        points: rows.filter(r => r.metric === m).flatMap(r => r.points) }));
      lineChart(el.querySelector(`[data-chart="${i}"]`), title, lines, { unit: unit === "B" ? "" : unit });
    });
  };
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
    const rows = await api("/api/series?scope=app&window=600", { signal: view.signal });
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
      lineChart(el.querySelector(`[data-chart="${i}"]`), key, lines, { unit });
    });
  };
  await draw();
  view.every(2000, draw);
}
