// Actions on actors (kill, restart): token-authenticated POSTs, reported in the header.

import { post } from "./api.js";
import { flash, shortId } from "./format.js";

/** Ask the node to kill or restart an actor; resolves once the node answered. */
export async function actOn(actorId, action) {
  const { ok, body } = await post(`/api/actors/${actorId}/${action}`);
  flash(ok ? `${action} sent to ${shortId(actorId)}` : `refused: ${body.error}`);
  return ok;
}
