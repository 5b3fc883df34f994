// Tasks: queued, running and failed tasks.

import { api } from "../core/api.js";
import { badge, esc, shortId } from "../core/format.js";
import { registerPage } from "../core/router.js";

async function fill(el, view) {
  const rows = await api("/api/tasks", { signal: view.signal });
  if (!view.active) return;
  el.innerHTML = `<table><tr><th>Task</th><th>Function</th><th>State</th><th>Worker pid</th><th>Error</th></tr>
    ${rows.slice().reverse().map(t => `<tr><td class="mono">${esc(shortId(t.task_id))}</td><td>${esc(t.name)}</td>
      <td>${badge(t.state)}</td><td>${esc(t.pid ?? "")}</td><td class="err-text">${esc(t.error)}</td></tr>`).join("")}
    </table>${rows.length ? "" : '<p class="muted">No queued, running or failed tasks.</p>'}`;
}

registerPage({
  name: "tasks", title: "Tasks", nav: "Tasks", order: 30,
  async show(el, _arg, view) {
    await fill(el, view);
    view.every(2000, () => fill(el, view));
  },
});
