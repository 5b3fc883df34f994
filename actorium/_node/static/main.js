// actorium dashboard: plain ES modules over the JSON API; no build step, no external assets.
// The node lists the page modules (every file in static/pages/); each registers itself.

import { api, askToken, setToken } from "./core/api.js";
import { connect } from "./core/live.js";
import { buildNav, start } from "./core/router.js";

async function boot() {
  const params = new URLSearchParams(location.search);
  if (params.has("token")) {
    setToken(params.get("token"));
    history.replaceState(null, "", location.pathname + location.hash);
  }
  document.getElementById("token-button").addEventListener("click", askToken);
  const modules = await api("/api/ui/pages");
  const loaded = await Promise.allSettled(modules.map(path => import(path)));
  loaded.forEach((result, i) => {
    if (result.status === "rejected") console.error(`page module ${modules[i]}:`, result.reason);
  });
  buildNav(document.getElementById("nav-pages"));
  connect();
  await start();
}

boot();
