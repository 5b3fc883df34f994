// Talking to the node: JSON reads, token-authenticated actions.

const TOKEN_KEY = "actorium-token";

/** GET a JSON endpoint; throws an Error carrying the server's message when it refuses. */
export async function api(path, options = {}) {
  const response = await fetch(path, { headers: { "Accept": "application/json" },
                                       signal: options.signal });
  if (!response.ok) {
    let message = response.statusText;
    try { message = (await response.json()).error || message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return response.json();
}

/** The cluster token this tab holds ("" if none). */
export function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

export function setToken(value) { sessionStorage.setItem(TOKEN_KEY, value.trim()); }

/** Ask the user for the cluster token (the Token button, or a first action). */
export function askToken() {
  const value = prompt("Cluster token (printed by `actorium start --head`, or init()'s " +
                       "dashboard_token):", token());
  if (value !== null) setToken(value);
}

/**
 * POST a state-changing request with the token and a JSON body.
 * Resolves to {ok, body}; asks for the token first if the tab has none.
 */
export async function post(path, body = {}) {
  if (!token()) { askToken(); if (!token()) return { ok: false, body: { error: "no token" } }; }
  const response = await fetch(path, {
    method: "POST", body: JSON.stringify(body),
    headers: { "Content-Type": "application/json", "Authorization": `Bearer ${token()}` } });
  let parsed = {};
  try { parsed = await response.json(); } catch (_) { /* empty */ }
  return { ok: response.ok, body: parsed };
}
