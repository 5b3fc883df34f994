// Actors: the fleet by class (true counts per state and node), then one page of actors at a
// time, searched, filtered and paged by the server (/api/fleet/...), with kill and restart.
// Other pages link here filtered: #actors/class=Twin&node=<id>&state=ALIVE&search=...

import { actOn } from "../core/actions.js";
import { api } from "../core/api.js";
import { badge, count, esc, shortId } from "../core/format.js";
import { registerPage } from "../core/router.js";

const PAGE = 50;
const filters = { search: "", state: "", class_name: "", node_id: "", offset: 0 };
const ROUTE_KEYS = { class: "class_name", node: "node_id", state: "state", search: "search" };

/** Filters named by the route's argument ("class=Twin&node=..."): they replace the tab's. */
function fromRoute(arg) {
  if (!arg) return;
  const given = new URLSearchParams(arg);
  for (const [key, name] of Object.entries(ROUTE_KEYS)) filters[name] = given.get(key) || "";
  filters.offset = 0;
}

function states(map) {
  return Object.entries(map).sort().map(([s, n]) => `${badge(s)} ${count(n)}`).join(" ");
}

function drawClasses(el, fleet) {
  el.querySelector("#class-total").textContent = `${count(fleet.total)} actor(s) in ${count(fleet.classes.length)} class(es)`;
  el.querySelector("#classes-table").innerHTML = `<tr><th>Class</th><th>Actors</th><th>By state</th><th>By node</th></tr>
    ${fleet.classes.map(c => `<tr class="clickable" data-class="${esc(c.class_name)}">
      <td><b>${esc(c.class_name)}</b> <a href="#class/${encodeURIComponent(c.class_name)}" title="charts">charts</a></td>
      <td>${count(c.total)}</td><td>${states(c.states)}</td>
      <td>${Object.entries(c.nodes).map(([n, k]) => `<span class="mono" data-node="${esc(n)}">${esc(shortId(n))}</span> ${count(k)}`).join(" · ")}</td></tr>`).join("")}`;
}

function drawPage(el, page) {
  const last = Math.min(page.offset + page.rows.length, page.total);
  el.querySelector("#actor-count").textContent = page.total
    ? `${count(page.offset + 1)}–${count(last)} of ${count(page.total)} actor(s)` : "0 actor(s)";
  el.querySelector("#prev").disabled = page.offset === 0;
  el.querySelector("#next").disabled = last >= page.total;
  el.querySelector("#actors-table").innerHTML = `<tr><th>Actor</th><th>Class</th><th>Name</th>
      <th>State</th><th>Node</th><th>Worker pid</th><th>Restarts</th><th>Pending</th><th></th></tr>
    ${page.rows.map(a => `<tr class="clickable" data-actor="${esc(a.actor_id)}">
      <td class="mono">${esc(shortId(a.actor_id))}</td><td><a href="#class/${encodeURIComponent(a.class_name)}">${esc(a.class_name)}</a></td><td>${esc(a.name)}</td>
      <td>${badge(a.state)}</td><td class="mono">${esc(shortId(a.node_id))}</td><td>${esc(a.pid ?? "")}</td><td>${a.restarts}</td><td>${a.pending_calls}</td>
      <td>${a.state !== "DEAD" ? `<button class="danger" data-kill="${esc(a.actor_id)}">Kill</button>
        <button data-restart="${esc(a.actor_id)}">Restart</button>` : ""}</td></tr>`).join("")}`;
}

async function fill(el, view) {
  const query = new URLSearchParams({ offset: filters.offset, limit: PAGE });
  for (const key of ["search", "state", "class_name", "node_id"]) if (filters[key]) query.set(key, filters[key]);
  const [fleet, page] = await Promise.all([api("/api/fleet/classes", { signal: view.signal }),
                                           api(`/api/fleet/actors?${query}`, { signal: view.signal })]);
  if (!view.active) return;
  if (page.total && filters.offset >= page.total) { filters.offset = 0; return fill(el, view); }
  drawClasses(el, fleet);
  drawPage(el, page);
  const shown = ["class_name", "node_id"].filter(k => filters[k]).map(k => `${k.replace("_", " ")} ${filters[k]}`);
  el.querySelector("#chosen").innerHTML = shown.length
    ? `${esc(shown.join(", "))} <button id="clear">clear</button>` : "";
}

registerPage({
  name: "actors", title: "Actors", nav: "Actors", order: 20,
  async show(el, arg, view) {
    fromRoute(arg);
    el.innerHTML = `
      <h2>By class <span class="muted" id="class-total"></span></h2>
      <table id="classes-table"></table>
      <h2>Actors</h2>
      <div class="toolbar">
        <input id="search" placeholder="search id, class or name" value="${esc(filters.search)}">
        <select id="state-filter">${["", "ALIVE", "PENDING_CREATION", "RESTARTING", "DEAD"].map(s =>
          `<option value="${s}" ${s === filters.state ? "selected" : ""}>${s || "any state"}</option>`).join("")}</select>
        <span id="chosen" class="muted"></span>
        <button id="prev">‹ prev</button><button id="next">next ›</button>
        <span class="muted" id="actor-count"></span>
      </div>
      <table id="actors-table"></table>`;
    const refresh = () => fill(el, view);
    const reset = () => { filters.offset = 0; refresh(); };
    el.querySelector("#search").addEventListener("change", e => { filters.search = e.target.value; reset(); });
    el.querySelector("#state-filter").addEventListener("change", e => { filters.state = e.target.value; reset(); });
    el.querySelector("#prev").addEventListener("click", () => { filters.offset = Math.max(0, filters.offset - PAGE); refresh(); });
    el.querySelector("#next").addEventListener("click", () => { filters.offset += PAGE; refresh(); });
    el.querySelector("#chosen").addEventListener("click", e => {
      if (e.target.id === "clear") { filters.class_name = filters.node_id = ""; reset(); } });
    el.querySelector("#classes-table").addEventListener("click", e => {
      if (e.target.closest("a")) return;
      const node = e.target.closest("[data-node]"), row = e.target.closest("tr[data-class]");
      if (node) { filters.node_id = node.dataset.node; }
      if (row) { filters.class_name = row.dataset.class; reset(); }
    });
    el.querySelector("#actors-table").addEventListener("click", async e => {
      const kill = e.target.closest("[data-kill]"), restart = e.target.closest("[data-restart]");
      if (kill || restart) {
        e.stopPropagation();
        await actOn((kill || restart).dataset[kill ? "kill" : "restart"], kill ? "kill" : "restart");
        setTimeout(refresh, 300);
        return;
      }
      if (e.target.closest("a")) return;
      const row = e.target.closest("tr[data-actor]");
      if (row) location.hash = `#actor/${row.dataset.actor}`;
    });
    await refresh();
    view.every(2000, refresh);
  },
});
