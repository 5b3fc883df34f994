// Overview: the cluster at a glance.

import { api } from "../core/api.js";
import { badge, bytes, esc, shortId } from "../core/format.js";
import { registerPage } from "../core/router.js";

function draw(el, s) {
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
    ${s.nodes.map(n => `<tr><td class="mono"><a href="#node/${esc(n.node_id)}">${esc(shortId(n.node_id))}</a></td><td>${esc(n.hostname)}</td>
      <td>${badge(n.state)}</td><td>${Object.keys(n.resources_total).filter(k => k !== "memory")
        .map(k => `${esc(k)} ${n.resources_available[k] ?? 0}/${n.resources_total[k]}`).join(", ")}</td>
      <td>${Math.round(n.uptime_s ?? 0)} s</td></tr>`).join("")}</table>`;
}

registerPage({
  name: "overview", title: "Overview", nav: "Overview", order: 10,
  async show(el, _arg, view) {
    el.innerHTML = `<div id="overview-now"></div><div id="overview-panels"></div>`;
    const now = el.querySelector("#overview-now");
    // The figures of now and the charts are fetched at once: one round trip, not two.
    const panels = view.panels(el.querySelector("#overview-panels"));
    draw(now, await api("/api/summary", { signal: view.signal }));
    view.on("summary", s => draw(now, s));
    await panels;
  },
});
