// Who is signed in: the token's scopes, read once from GET /v1/caller, decide
// whether the console offers edit controls.
import { get } from "./api";
import type { Principal, Scope } from "./types";

const rank: Record<Scope, number> = { SCOPE_READ: 1, SCOPE_WRITE: 2, SCOPE_ADMIN: 3 };

export interface Session {
  principal: Principal;
  /** canWrite: the token may create and change resources. */
  canWrite: boolean;
}

export async function loadSession(): Promise<Session> {
  const { principal } = await get<{ principal: Principal }>("/v1/caller");
  const top = Math.max(0, ...(principal.scopes ?? []).map((s) => rank[s] ?? 0));
  return { principal, canWrite: top >= rank.SCOPE_WRITE };
}
