// The live stream: one EventSource per tab, fanned out to whoever listens by event kind.

const listeners = new Map();   // kind -> Set of functions
let source = null;

/** Call fn(data) for every server-sent event of this kind; returns the unsubscribe. */
export function on(kind, fn) {
  if (!listeners.has(kind)) listeners.set(kind, new Set());
  listeners.get(kind).add(fn);
  if (source) listen(kind);
  return () => listeners.get(kind).delete(fn);
}

const attached = new Set();
function listen(kind) {
  if (attached.has(kind)) return;
  attached.add(kind);
  source.addEventListener(kind, e => {
    const data = JSON.parse(e.data);
    for (const fn of [...(listeners.get(kind) || [])]) {
      try { fn(data); } catch (err) { console.error(err); }
    }
  });
}

/** Open the stream (once) and show its state in the #live indicator. */
export function connect() {
  if (source) return;
  const live = document.getElementById("live");
  source = new EventSource("/api/stream");
  source.addEventListener("open", () => { if (live) live.className = "live on"; });
  source.addEventListener("error", () => { if (live) live.className = "live off"; });
  for (const kind of listeners.keys()) listen(kind);
}
