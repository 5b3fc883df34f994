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
