// Charts over time: on the Overview (the cluster), and the pages of a node, an actor class
// and an actor (#node/<id>, #class/<name>, #actor/<id>).

import { liveCharts } from "../core/charts.js";
import { esc } from "../core/format.js";
import { registerPage, registerPanel } from "../core/router.js";

registerPanel("overview", { title: "Over the last 10 minutes", order: 10,
  show: (el, _arg, view) => liveCharts(el, view, "cluster") });

registerPanel("actor", { title: "Over the last 10 minutes", order: 10,
  show: (el, actorId, view) => liveCharts(el, view, "actor", actorId) });

registerPage({ name: "class", title: "Actor class", navParent: "actors",
  async show(el, name, view) {
    el.innerHTML = `<p>Actors of class <b>${esc(name)}</b> · <a href="#actors">all actors</a></p><div id="class-charts"></div>`;
    await liveCharts(el.querySelector("#class-charts"), view, "class", name);
  } });

registerPage({ name: "node", title: "Node", navParent: "overview",
  async show(el, nodeId, view) {
    el.innerHTML = `<p class="mono muted">${esc(nodeId)}</p><div id="node-charts"></div>`;
    await liveCharts(el.querySelector("#node-charts"), view, "node", "", { node: nodeId });
  } });
