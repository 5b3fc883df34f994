// Timeline: actor, worker and node events, newest first, growing live.

import { api } from "../core/api.js";
import { registerPage } from "../core/router.js";
import { eventRow } from "../core/rows.js";

registerPage({
  name: "timeline", title: "Timeline", nav: "Timeline", order: 60,
  async show(el, _arg, view) {
    const events = await api("/api/events", { signal: view.signal });
    el.innerHTML = `<div class="timeline" id="events">${events.slice().reverse().map(eventRow).join("")}</div>`;
    view.on("event", ev => el.querySelector("#events")?.insertAdjacentHTML("afterbegin", eventRow(ev)));
  },
});
