// Objects: what the driver and workers hold, where, and who refers to it.

import { api } from "../core/api.js";
import { badge, bytes, esc, shortId } from "../core/format.js";
import { registerPage } from "../core/router.js";

async function fill(el, view) {
  const rows = await api("/api/objects", { signal: view.signal });
  if (!view.active) return;
  el.innerHTML = `<table><tr><th>Object</th><th>Size</th><th>State</th><th>Held by</th><th>Owner</th>
    <th>Refs</th><th>Borrowers</th><th>Where</th></tr>
    ${rows.map(o => `<tr><td class="mono">${esc(shortId(o.object_id))}</td><td>${bytes(o.size_bytes)}</td>
      <td>${badge(o.state)}</td><td>${esc(o.holder_role)} ${esc(o.holder_pid)}</td><td>${esc(o.owner)}</td>
      <td>${o.local_refs}</td><td>${o.borrowers}</td><td>${esc(o.location)}</td></tr>`).join("")}</table>
    ${rows.length ? "" : '<p class="muted">No objects held.</p>'}`;
}

registerPage({
  name: "objects", title: "Objects", nav: "Objects", order: 40,
  async show(el, _arg, view) {
    await fill(el, view);
    view.every(2000, () => fill(el, view));
  },
});
