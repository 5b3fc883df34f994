// Jobs: every submitted job (list, status, stop) and one job's live log.
//
// The job API needs the cluster token on every request, reads included (a job's log may hold
// secrets), so this page sends it with each call; without one it asks for it.

import { askToken, post, token } from "../core/api.js";
import { badge, esc, flash } from "../core/format.js";
import { registerPage, render } from "../core/router.js";

const TERMINAL = new Set(["STOPPED", "SUCCEEDED", "FAILED"]);

/** GET a job API endpoint with the token; throws an Error with the server's message. */
async function jobApi(path, view) {
  const response = await fetch(path, {
    signal: view.signal,
    headers: { "Accept": "application/json", "Authorization": `Bearer ${token()}` } });
  let body = {};
  try { body = await response.json(); } catch (_) { /* not JSON */ }
  if (!response.ok) {
    const error = new Error(body.error || response.statusText);
    error.status = response.status;
    throw error;
  }
  return body;
}

function when(ms) { return ms ? new Date(ms).toLocaleString() : "–"; }

function took(job) {
  if (!job.start_time) return "–";
  const seconds = ((job.end_time || Date.now()) - job.start_time) / 1000;
  return seconds < 60 ? `${seconds.toFixed(1)} s` : `${(seconds / 60).toFixed(1)} min`;
}

function needToken(el, error) {
  if (error.status !== 401) return false;
  el.innerHTML = `<p>The job API needs the cluster token (printed by <code>actorium start --head</code>).</p>
    <button id="job-token" type="button">Enter the token</button>`;
  el.querySelector("#job-token").addEventListener("click", () => { askToken(); render(); });
  return true;
}

async function stop(id) {
  const { ok, body } = await post(`/api/jobs/${encodeURIComponent(id)}/stop`);
  flash(ok ? (body.stopped ? `stop sent to ${id}` : `${id} had already ended`) : `refused: ${body.error}`);
}

function stopButton(job) {
  return TERMINAL.has(job.status) ? ""
    : `<button class="danger" data-stop="${esc(job.submission_id)}" type="button">Stop</button>`;
}

function wireStops(el) {
  for (const button of el.querySelectorAll("[data-stop]")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      await stop(button.dataset.stop);
    });
  }
}

// ---------------------------------------------------------------------- the list
async function fillList(el, view) {
  let jobs;
  try {
    jobs = await jobApi("/api/jobs/", view);
  } catch (error) {
    if (!view.active || needToken(el, error)) return;
    el.innerHTML = `<p class="err-text">${esc(error.message)}</p>`;
    return;
  }
  if (!view.active) return;
  jobs.sort((a, b) => (b.start_time || 0) - (a.start_time || 0));
  el.innerHTML = `<table><tr><th>Submission id</th><th>Status</th><th>Entrypoint</th><th>Started</th>
      <th>Duration</th><th></th></tr>
    ${jobs.map(j => `<tr data-job="${esc(j.submission_id)}">
      <td class="mono"><a href="#jobs/${encodeURIComponent(j.submission_id)}">${esc(j.submission_id)}</a></td>
      <td>${badge(j.status)}</td><td class="mono">${esc(j.entrypoint)}</td><td>${when(j.start_time)}</td>
      <td>${took(j)}</td><td>${stopButton(j)}</td></tr>`).join("")}
    </table>${jobs.length ? "" : '<p class="muted">No jobs yet: <code>actorium job submit -- python script.py</code></p>'}`;
  wireStops(el);
}

// ---------------------------------------------------------------------- one job
async function showJob(el, id, view) {
  let job;
  try {
    job = await jobApi(`/api/jobs/${encodeURIComponent(id)}`, view);
  } catch (error) {
    if (!needToken(el, error)) el.innerHTML = `<p class="err-text">${esc(error.message)}</p>`;
    return;
  }
  el.innerHTML = `
    <p><a href="#jobs">&larr; all jobs</a></p>
    <div class="cards">
      <div class="card"><div class="k">Status</div><div class="v" id="job-status">${badge(job.status)}</div></div>
      <div class="card"><div class="k">Started</div><div class="v">${when(job.start_time)}</div></div>
      <div class="card"><div class="k">Duration</div><div class="v" id="job-took">${took(job)}</div></div>
      <div class="card"><div class="k">Exit code</div><div class="v" id="job-exit">${esc(job.driver_exit_code ?? "–")}</div></div>
    </div>
    <p class="mono">${esc(job.submission_id)} · <span class="muted">${esc(job.entrypoint)}</span></p>
    <p id="job-message" class="${job.status === "FAILED" ? "err-text" : "muted"}">${esc(job.message)}</p>
    <div id="job-actions">${stopButton(job)}</div>
    <h2>Runtime environment</h2><pre class="mono">${esc(JSON.stringify(job.runtime_env || {}, null, 2))}</pre>
    <h2>Log</h2><pre class="logs" id="job-log" style="height:45vh; white-space:pre-wrap"></pre>`;
  wireStops(el);
  const log = el.querySelector("#job-log");
  let offset = 0;
  let done = false;
  const follow = async () => {
    if (done) return;
    const status = await jobApi(`/api/jobs/${encodeURIComponent(id)}`, view);
    const chunk = await jobApi(`/api/jobs/${encodeURIComponent(id)}/logs?offset=${offset}`, view);
    if (!view.active) return;
    if (chunk.logs) {
      const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      log.append(chunk.logs);
      if (atBottom) log.scrollTop = log.scrollHeight;
    }
    offset = chunk.offset;
    el.querySelector("#job-status").innerHTML = badge(status.status);
    el.querySelector("#job-took").textContent = took(status);
    el.querySelector("#job-exit").textContent = status.driver_exit_code ?? "–";
    el.querySelector("#job-message").textContent = status.message || "";
    el.querySelector("#job-message").className = status.status === "FAILED" ? "err-text" : "muted";
    if (TERMINAL.has(status.status)) {
      el.querySelector("#job-actions").innerHTML = "";
      done = !chunk.logs;   // one more read after the end, for the last lines
    }
  };
  await follow();
  view.every(1000, follow);
}

registerPage({
  name: "jobs", title: "Jobs", nav: "Jobs", order: 35,
  async show(el, id, view) {
    if (id) {
      await showJob(el, id, view);
      return;
    }
    await fillList(el, view);
    view.every(2000, () => fillList(el, view));
  },
});
