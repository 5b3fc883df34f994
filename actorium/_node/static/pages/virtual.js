// Virtual actors: types with active and passivated counts, activations per node, reminders.

import { api } from "../core/api.js";
import { clock, count, esc, shortId } from "../core/format.js";
import { registerPage } from "../core/router.js";

function inTime(due) {
  const seconds = due - Date.now() / 1000;
  if (seconds <= 0) return "due now";
  if (seconds < 120) return `in ${seconds.toFixed(1)} s`;
  return `at ${clock(due)}`;
}

async function fill(el, view) {
  const [summary, reminders] = await Promise.all([
    api("/api/virtual/summary", { signal: view.signal }),
    api("/api/virtual/reminders?limit=50", { signal: view.signal }),
  ]);
  if (!view.active) return;
  const nodes = Object.entries(summary.per_node || {});
  el.innerHTML = `
    <p>State store: <span class="mono">${esc(summary.store)}</span> ·
      activations ${count(summary.activations_total)} · passivations ${count(summary.passivations_total)}</p>
    <h3>Types</h3>
    <table id="virtual-types"><tr><th>Type</th><th>Active</th><th>Passivated</th><th>Saved keys</th>
      <th>Active per node</th></tr>
    ${summary.types.map(t => `<tr><td>${esc(t.type_name)}</td><td>${count(t.active)}</td>
      <td>${count(t.passivated)}</td><td>${count(t.saved)}</td>
      <td>${Object.entries(t.per_node).map(([n, c]) => `<span class="mono">${esc(shortId(n))}</span> ${count(c)}`).join(", ")}</td></tr>`).join("")}
    </table>
    ${summary.types.length ? "" : '<p class="muted">No virtual actor has been activated or saved yet.</p>'}
    <h3>Activations per node</h3>
    <table id="virtual-nodes"><tr><th>Node</th><th>Active</th></tr>
    ${nodes.map(([n, c]) => `<tr><td class="mono">${esc(shortId(n))}</td><td>${count(c)}</td></tr>`).join("")}
    </table>
    <h3>Reminders (soonest first)</h3>
    <table id="virtual-reminders"><tr><th>Type</th><th>Key</th><th>Name</th><th>Next</th><th>Period</th></tr>
    ${reminders.map(r => `<tr><td>${esc(r.type_name)}</td><td class="mono">${esc(r.key)}</td><td>${esc(r.name)}</td>
      <td>${esc(inTime(r.due))}</td><td>${r.period == null ? "once" : `${esc(r.period)} s`}</td></tr>`).join("")}
    </table>
    ${reminders.length ? "" : '<p class="muted">No reminders.</p>'}`;
}

registerPage({
  name: "virtual", title: "Virtual actors", nav: "Virtual actors", order: 25,
  async show(el, _arg, view) {
    await fill(el, view);
    view.every(2000, () => fill(el, view));
  },
});
