// Actors: every actor, searchable, with kill and restart.

import { actOn } from "../core/actions.js";
import { api } from "../core/api.js";
import { badge, esc, shortId } from "../core/format.js";
import { registerPage } from "../core/router.js";

const filters = { search: "", state: "" };

async function fill(el, view) {
  const query = new URLSearchParams();
  if (filters.state) query.set("state", filters.state);
  if (filters.search) query.set("search", filters.search);
  const rows = await api(`/api/actors?${query}`, { signal: view.signal });
  if (!view.active) return;
  el.querySelector("#actor-count").textContent = `${rows.length} actor(s)`;
  el.querySelector("#actors-table").innerHTML = `<tr><th>Actor</th><th>Class</th><th>Name</th>
      <th>State</th><th>Worker pid</th><th>Restarts</th><th>Pending</th><th></th></tr>
    ${rows.map(a => `<tr class="clickable" data-actor="${esc(a.actor_id)}">
      <td class="mono">${esc(shortId(a.actor_id))}</td><td><a href="#class/${encodeURIComponent(a.class_name)}">${esc(a.class_name)}</a></td><td>${esc(a.name)}</td>
      <td>${badge(a.state)}</td><td>${esc(a.pid ?? "")}</td><td>${a.restarts}</td><td>${a.pending_calls}</td>
      <td>${a.state !== "DEAD" ? `<button class="danger" data-kill="${esc(a.actor_id)}">Kill</button>
        <button data-restart="${esc(a.actor_id)}">Restart</button>` : ""}</td></tr>`).join("")}`;
}

registerPage({
  name: "actors", title: "Actors", nav: "Actors", order: 20,
  async show(el, _arg, view) {
    el.innerHTML = `
      <div class="toolbar">
        <input id="search" placeholder="search id, class or name" value="${esc(filters.search)}">
        <select id="state-filter">${["", "ALIVE", "PENDING_CREATION", "RESTARTING", "DEAD"].map(s =>
          `<option value="${s}" ${s === filters.state ? "selected" : ""}>${s || "any state"}</option>`).join("")}</select>
        <span class="muted" id="actor-count"></span>
      </div>
      <table id="actors-table"></table>`;
    const refresh = () => fill(el, view);
    el.querySelector("#search").addEventListener("change", e => { filters.search = e.target.value; refresh(); });
    el.querySelector("#state-filter").addEventListener("change", e => { filters.state = e.target.value; refresh(); });
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
    view.on("event", refresh);
    view.every(2000, refresh);
  },
});
