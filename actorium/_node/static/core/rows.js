// Row renderers more than one page uses: a log line, an event.

import { clock, esc } from "./format.js";

export function logLine(l) {
  const origin = l.origin ? l.origin.split(":")[0] : "worker";
  return `<div class="line ${l.stream === "err" ? "err" : ""}"><span class="origin">(${esc(origin)} pid=${l.pid})</span> ${esc(l.text)}</div>`;
}

export function eventRow(e) {
  return `<div class="ev ${esc(e.kind)}"><span class="t">${clock(e.time)}</span><span class="kind">${esc(e.kind)}</span>
    <span>${esc(e.message)}</span></div>`;
}
