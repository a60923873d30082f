// The console's only way to the server: Lift's public REST API, with the
// API token from sign-in (kept in sessionStorage, never in a URL).

const tokenKey = "lift.token";

export function token(): string | null {
  return sessionStorage.getItem(tokenKey);
}

export function setToken(t: string | null): void {
  if (t === null) sessionStorage.removeItem(tokenKey);
  else sessionStorage.setItem(tokenKey, t);
}

/** Violation is one field rule the API refused (buf.validate.Violations). */
export interface Violation {
  field: string;
  message: string;
}

/** ApiError carries the API's own message, shown to the user as it is. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string,
    readonly violations: Violation[],
  ) {
    super(message);
  }
}

interface StatusDetail {
  "@type"?: string;
  reason?: string;
  violations?: { field?: { elements?: { fieldName?: string; index?: string }[] }; message?: string }[];
}

async function errorOf(resp: Response): Promise<ApiError> {
  let body: { message?: string; details?: StatusDetail[] } = {};
  try {
    body = await resp.json();
  } catch {
    // Not the API's error shape (a proxy's page, say): the status alone.
  }
  let reason = "";
  const violations: Violation[] = [];
  for (const d of body.details ?? []) {
    if (d.reason) reason = d.reason;
    for (const v of d.violations ?? []) {
      const field = (v.field?.elements ?? []).map((e) => (e.index !== undefined ? `${e.fieldName}[${e.index}]` : e.fieldName)).join(".");
      violations.push({ field, message: v.message ?? "" });
    }
  }
  return new ApiError(resp.status, body.message || `${resp.status} ${resp.statusText}`, reason, violations);
}

/** call sends one API request and returns the decoded JSON answer. */
export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let resp: Response;
  try {
    resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, `network error: ${(e as Error).message}`, "", []);
  }
  if (!resp.ok) throw await errorOf(resp);
  if (resp.status === 204) return {} as T;
  return (await resp.json()) as T;
}

export const get = <T>(path: string) => call<T>("GET", path);
export const post = <T>(path: string, body: unknown = {}) => call<T>("POST", path, body);
export const patch = <T>(path: string, body: unknown) => call<T>("PATCH", path, body);

export const enc = encodeURIComponent;
