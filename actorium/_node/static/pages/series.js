// Charts over time: on the Overview (the cluster), and the pages of a node, an actor class
// and an actor (#node/<id>, #class/<name>, #actor/<id>). The node and class pages also say
// what they are now (a node's resources and workers, a class's true counts per state and node)
// and link to the Actors page filtered to them.

import { api } from "../core/api.js";
import { liveCharts } from "../core/charts.js";
import { badge, bytes, count, esc, shortId } from "../core/format.js";
import { registerPage, registerPanel } from "../core/router.js";

registerPanel("overview", { title: "Over time", order: 10,
  show: (el, _arg, view) => liveCharts(el, view, "cluster") });

registerPanel("actor", { title: "Over time", order: 10,
  show: (el, actorId, view) => liveCharts(el, view, "actor", actorId) });

/** The Actors page filtered (see pages/actors.js: #actors/class=...&node=...). */
export function actorsLink(filters, text) {
  return `<a href="#actors/${encodeURIComponent(new URLSearchParams(filters).toString())}">${esc(text)}</a>`;
}

function states(map) {
  return Object.entries(map).sort().map(([s, n]) => `${badge(s)} ${count(n)}`).join(" ");
}

async function drawClass(el, name, view) {
  const fleet = await api("/api/fleet/classes", { signal: view.signal });
  if (!view.active) return;
  const c = fleet.classes.find(g => g.class_name === name);
  el.innerHTML = c ? `<div class="cards">
      <div class="card"><div class="k">Actors</div><div class="v" id="class-actors">${count(c.total)}</div>
        <div class="muted">${actorsLink({ class: name }, "list them")}</div></div>
      <div class="card"><div class="k">By state</div><div>${states(c.states)}</div></div>
      <div class="card"><div class="k">By node</div><div>${Object.entries(c.nodes).map(([n, k]) =>
        `${actorsLink({ class: name, node: n }, shortId(n))} ${count(k)}`).join("<br>")}</div></div></div>`
    : `<p class="muted">No actor of class ${esc(name)} now (its charts keep the last hour).</p>`;
}

registerPage({ name: "class", title: "Actor class", navParent: "actors",
  async show(el, name, view) {
    el.innerHTML = `<p>Actors of class <b>${esc(name)}</b> · <a href="#actors">all actors</a></p>
      <div id="class-now"></div><h2>Over time</h2><div id="class-charts"></div>`;
    const now = el.querySelector("#class-now");
    // What the class is now and its charts are fetched at once: one round trip, not two.
    await Promise.all([drawClass(now, name, view),
                       liveCharts(el.querySelector("#class-charts"), view, "class", name)]);
    view.every(2000, () => drawClass(now, name, view));
  } });

async function drawNode(el, nodeId, view) {
  const [nodes, workers] = await Promise.all([api("/api/nodes", { signal: view.signal }),
                                              api("/api/workers", { signal: view.signal })]);
  if (!view.active) return;
  const n = nodes.find(row => row.node_id === nodeId);
  if (!n) { el.innerHTML = `<p class="muted">No node ${esc(nodeId)} in the cluster now.</p>`; return; }
  const mine = workers.filter(w => (w.node_id ?? nodeId) === nodeId);
  const mem = n.memory || { total: 0, available: 0 };
  el.innerHTML = `<div class="cards">
      <div class="card"><div class="k">Host</div><div class="v">${esc(n.hostname)}</div>
        <div class="muted">${esc(n.address)} ${n.is_head ? "· head" : ""} · ${badge(n.state)}</div></div>
      <div class="card"><div class="k">Resources (free / total)</div><div>${Object.keys(n.resources_total)
        .filter(k => k !== "memory").map(k => `${esc(k)} ${n.resources_available[k] ?? 0} / ${n.resources_total[k]}`).join("<br>")}</div></div>
      <div class="card"><div class="k">Machine</div><div>CPU ${n.cpu_percent ?? "–"}%</div>
        <div>memory ${bytes(mem.total - mem.available)} of ${bytes(mem.total)}</div></div>
      <div class="card"><div class="k">Workers</div><div class="v">${count(mine.length)}</div>
        <div class="muted">${actorsLink({ node: nodeId }, "its actors")} · up ${Math.round(n.uptime_s ?? 0)} s</div></div></div>
    <h2>Workers</h2>
    <table id="node-workers"><tr><th>Pid</th><th>Kind</th><th>State</th><th>Actors</th><th>Running</th><th>Memory</th></tr>
    ${mine.map(w => `<tr><td>${esc(w.pid ?? "")}</td><td>${esc(w.kind)}</td><td>${badge(w.state)}</td>
      <td>${count(w.actors)}</td><td>${count(w.running)}</td><td>${bytes(w.rss_bytes)}</td></tr>`).join("")}</table>`;
}

registerPage({ name: "node", title: "Node", navParent: "overview",
  async show(el, nodeId, view) {
    el.innerHTML = `<p class="mono muted">${esc(nodeId)}</p><div id="node-now"></div>
      <h2>Over time</h2><div id="node-charts"></div>`;
    const now = el.querySelector("#node-now");
    await Promise.all([drawNode(now, nodeId, view),
                       liveCharts(el.querySelector("#node-charts"), view, "node", "", { node: nodeId })]);
    view.every(5000, () => drawNode(now, nodeId, view));
  } });
