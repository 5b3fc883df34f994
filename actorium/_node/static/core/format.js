// Formatting helpers shared by every page: escaping, sizes, ids, times, state badges.

/** Text made safe to put inside HTML (element content or a quoted attribute). */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;",
    '"': "&quot;", "'": "&#39;"}[c]));
}

/** A byte count for people: 1.5 MiB. */
export function bytes(n) {
  if (n == null) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** A count for people: 1,234,567. */
export function count(n) { return n == null ? "–" : Number(n).toLocaleString("en-US"); }

/** Seconds as a duration for people: 250 µs, 12.5 ms, 3.20 s. */
export function duration(seconds) {
  if (seconds == null || Number.isNaN(seconds)) return "–";
  if (seconds < 1e-3) return `${(seconds * 1e6).toFixed(0)} µs`;
  if (seconds < 1) return `${(seconds * 1e3).toFixed(seconds < 0.01 ? 2 : 1)} ms`;
  return `${seconds.toFixed(2)} s`;
}

// Ids share their job prefix; the distinguishing part is at the end.
export function shortId(id) {
  id = String(id ?? "");
  return id.length > 16 ? `${id.slice(0, 6)}…${id.slice(-8)}` : id;
}

/** A wall-clock time (seconds since the epoch) as the local time of day. */
export function clock(t) { return new Date(t * 1000).toLocaleTimeString(); }

/** A coloured badge for a state name (ALIVE, DEAD, QUEUED...). */
export function badge(s) { return `<span class="state ${esc(s)}">${esc(s)}</span>`; }

/** A stable colour for a name (a function or class), so it keeps its colour everywhere. */
export function colorOf(name) {
  let hash = 2166136261;
  for (const c of String(name)) hash = Math.imul(hash ^ c.charCodeAt(0), 16777619);
  const hue = ((hash >>> 0) % 360);
  return `hsl(${hue}, 62%, 58%)`;
}

/** Show a short message in the header for five seconds. */
export function flash(text) {
  const el = document.getElementById("flash");
  if (!el) return;
  el.textContent = text;
  setTimeout(() => { if (el.textContent === text) el.textContent = ""; }, 5000);
}
