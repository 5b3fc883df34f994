// Logs: every worker's output, streamed live, with a filter.

import { api } from "../core/api.js";
import { esc } from "../core/format.js";
import { on } from "../core/live.js";
import { registerPage } from "../core/router.js";
import { logLine } from "../core/rows.js";

const KEEP = 5000;
const state = { lines: [], loaded: false, filter: "" };

// Lines arrive while other pages are shown too, so that coming back shows them.
on("log", batch => {
  if (!state.loaded) return;
  state.lines.push(...batch);
  if (state.lines.length > KEEP) state.lines = state.lines.slice(-KEEP);
});

function fill() {
  const box = document.getElementById("log-box"); if (!box) return;
  const f = state.filter.toLowerCase();
  const lines = state.lines.filter(l => !f || `${l.origin} ${l.pid} ${l.text}`.toLowerCase().includes(f));
  const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 20;
  box.innerHTML = lines.slice(-2000).map(logLine).join("");
  if (atBottom) box.scrollTop = box.scrollHeight;
}

registerPage({
  name: "logs", title: "Logs", nav: "Logs", order: 50,
  async show(el, _arg, view) {
    if (!state.loaded) {
      state.lines = await api("/api/logs?limit=1000", { signal: view.signal });
      state.loaded = true;
    }
    el.innerHTML = `<div class="toolbar"><input id="log-filter" placeholder="filter (text, class, pid)"
      value="${esc(state.filter)}"><span class="muted">streamed live</span></div>
      <div class="logs" id="log-box"></div>`;
    const input = el.querySelector("#log-filter");
    input.addEventListener("input", () => { state.filter = input.value; fill(); });
    fill();
    view.on("log", () => fill());
  },
});
