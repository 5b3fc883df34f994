// One actor: its state, recent calls, log lines and events; panels of other modules below.

import { actOn } from "../core/actions.js";
import { api } from "../core/api.js";
import { badge, clock, esc } from "../core/format.js";
import { registerPage, render } from "../core/router.js";
import { eventRow, logLine } from "../core/rows.js";

registerPage({
  name: "actor", title: "Actor", navParent: "actors",
  async show(el, actorId, view) {
    const a = await api(`/api/actors/${actorId}`, { signal: view.signal });
    el.innerHTML = `
      <div class="cards">
        <div class="card"><div class="k">Class</div><div class="v">${esc(a.class_name)}</div></div>
        <div class="card"><div class="k">State</div><div class="v">${badge(a.state)}</div></div>
        <div class="card"><div class="k">Restarts</div><div class="v">${a.restarts}</div></div>
        <div class="card"><div class="k">Pending calls</div><div class="v">${a.pending_calls}</div></div>
      </div>
      <p class="mono muted">${esc(a.actor_id)} · worker pid ${esc(a.pid ?? "–")} · ${esc(a.name || "unnamed")}</p>
      ${a.death_reason ? `<p class="err-text">${esc(a.death_reason)}</p>` : ""}
      ${a.state !== "DEAD" ? `<button class="danger" id="kill">Kill</button> <button id="restart">Restart</button>` : ""}
      <h2>Recent calls</h2>
      <table><tr><th>Time</th><th>Method</th><th>ms</th><th>Result</th></tr>
      ${a.recent_calls.slice().reverse().map(c => `<tr><td>${clock(c.time)}</td><td>${esc(c.name)}</td>
        <td>${c.ms}</td><td>${c.ok ? "ok" : '<span class="err-text">raised</span>'}</td></tr>`).join("")}</table>
      <h2>Log lines</h2><div class="logs" style="height:30vh">${a.logs.map(logLine).join("")}</div>
      <h2>Events</h2><div class="timeline">${a.events.slice().reverse().map(eventRow).join("")}</div>
      <div id="actor-panels"></div>`;
    const again = () => setTimeout(() => { if (view.active) render(); }, 300);
    el.querySelector("#kill")?.addEventListener("click", async () => { await actOn(a.actor_id, "kill"); again(); });
    el.querySelector("#restart")?.addEventListener("click", async () => { await actOn(a.actor_id, "restart"); again(); });
    await view.panels(el.querySelector("#actor-panels"));
  },
});
