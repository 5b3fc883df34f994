// Pages, panels and navigation. A page module registers itself; the router shows one at a time.
//
//   registerPage({ name: "jobs", title: "Jobs", nav: "Jobs", order: 35,
//                  async show(el, arg, view) { ... } })
//
// `show` fills `el` for the route `#name/arg`. `view` lives until the user navigates away:
// `view.every(ms, fn)` and `view.on(kind, fn)` (server-sent events) stop by themselves then,
// `view.signal` aborts pending fetches, `view.active` turns false. Another module can add a
// panel to a page without editing it: registerPanel("actor", { title, order, show(el, arg, view) })
// and the page calls `view.panels(container)` where panels belong.

import { on as onLive } from "./live.js";
import { esc, shortId } from "./format.js";

const pages = new Map();
const panels = new Map();     // page name -> [panel]
let current = null;           // the View being shown
let fallback = "overview";

export function registerPage(page) {
  if (!page.name || typeof page.show !== "function") throw new Error("a page needs name and show()");
  pages.set(page.name, { order: 100, title: page.name, ...page });
}

export function registerPanel(pageName, panel) {
  if (!panels.has(pageName)) panels.set(pageName, []);
  panels.get(pageName).push({ order: 100, ...panel });
  panels.get(pageName).sort((a, b) => a.order - b.order);
}

class View {
  constructor(name, arg) {
    this.name = name; this.arg = arg; this.active = true;
    this.cleanups = []; this.controller = new AbortController();
  }
  get signal() { return this.controller.signal; }
  /** Run fn every ms milliseconds while this page is shown (never two at once). */
  every(ms, fn) {
    let busy = false;
    const timer = setInterval(async () => {
      if (busy || !this.active) return;
      busy = true;
      try { await fn(); } catch (err) { if (this.active) console.error(err); } finally { busy = false; }
    }, ms);
    this.cleanups.push(() => clearInterval(timer));
  }
  /** Listen to a server-sent event kind while this page is shown. */
  on(kind, fn) { this.cleanups.push(onLive(kind, data => { if (this.active) fn(data); })); }
  onLeave(fn) { this.cleanups.push(fn); }
  /** Show the panels other modules registered for this page, in order, inside `container`. */
  async panels(container) {
    for (const panel of panels.get(this.name) || []) {
      const box = document.createElement("section");
      box.className = "panel";
      box.innerHTML = `<h2>${esc(panel.title || "")}</h2><div class="panel-body"></div>`;
      container.appendChild(box);
      try { await panel.show(box.querySelector(".panel-body"), this.arg, this); }
      catch (err) { box.querySelector(".panel-body").innerHTML = `<p class="err-text">${esc(err.message)}</p>`; }
    }
  }
  dispose() {
    this.active = false; this.controller.abort();
    for (const fn of this.cleanups) { try { fn(); } catch (_) { /* leaving anyway */ } }
  }
}

/** Build the navigation from the registered pages that have a `nav` label. */
export function buildNav(container) {
  const entries = [...pages.values()].filter(p => p.nav).sort((a, b) => a.order - b.order);
  container.innerHTML = entries.map(p =>
    `<a href="#${esc(p.name)}" data-page="${esc(p.name)}">${esc(p.nav)}</a>`).join("");
  if (entries.length) fallback = entries[0].name;
}

/** Show the page named by the address bar's hash (#name/arg). */
export async function render() {
  const [wanted, ...rest] = (location.hash.slice(1) || fallback).split("/");
  const arg = rest.length ? decodeURIComponent(rest.join("/")) : undefined;
  const name = pages.has(wanted) ? wanted : fallback;
  const page = pages.get(name);
  if (current) current.dispose();
  const view = current = new View(name, arg);
  document.getElementById("title").textContent = page.title + (arg ? ` ${shortId(arg)}` : "");
  const section = page.navParent || name;
  document.querySelectorAll("nav a[data-page]").forEach(a =>
    a.classList.toggle("active", a.dataset.page === section));
  const el = document.getElementById("page");
  el.innerHTML = "";
  try {
    await page.show(el, arg, view);
  } catch (err) {
    if (view.active) el.innerHTML = `<p class="err-text">${esc(err.message)}</p>`;
  }
}

export function start() {
  window.addEventListener("hashchange", render);
  return render();
}
