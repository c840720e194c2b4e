// Where the APIs are, one request to them, and every failure turned into a sentence a player can act on.
//
// The page is at <root><base>/ or <root><base> (base = STRATUS_BASE_PATH, "/web"; root is "" behind the HTTP
// API's $default stage). The APIs share the host: /auth, /players, /texts, /records, /sessions.

const BASE = document.documentElement.dataset.base || "";

/** The path the APIs start at, from the page's own address: "" for /web/ and /web alike. */
export function apiRoot(pathname = window.location.pathname, base = BASE) {
  let path = pathname.replace(/\/+$/, "");
  if (base && path.endsWith(base)) {
    path = path.slice(0, -base.length);
  }
  return path;
}

/** The absolute URL of an API path such as "/auth/token" (same origin: the page's CSP allows only 'self'). */
export function apiUrl(path) {
  return window.location.origin + apiRoot() + path;
}

/**
 * A failed call, classified by what the player can do about it:
 * - "session": the session is over (expired, revoked, signed out elsewhere): sign in again;
 * - "rate": too many requests: wait `retryAfter` seconds, then retry;
 * - "unavailable": the service answered 5xx: retry later;
 * - "network": no answer at all (offline, DNS, connection refused): check the connection, retry;
 * - "not_found": the thing does not exist (a 404);
 * - "invalid": the request was refused (4xx): `message` says why, `field` names the field when known.
 */
export class ApiError extends Error {
  constructor(kind, message, { status = 0, code = "", retryAfter = 0, field = "" } = {}) {
    super(message);
    this.name = "ApiError";
    this.kind = kind;
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.field = field;
  }
}

const SERVICES = [
  ["/auth", "The sign-in service"],
  ["/sessions", "The sign-in service"],
  ["/players", "The player service"],
  ["/texts", "The text service"],
  ["/records", "The records service"],
];

function serviceName(path) {
  const found = SERVICES.find(([prefix]) => path.startsWith(prefix));
  return found ? found[1] : "The game's server";
}

/**
 * Send one request. `json` or `form` is the body; `token` the access token (an Authorization header, never a
 * URL parameter). Resolves with the Response, whatever its status; rejects only with a "network" ApiError.
 */
export async function send(path, { method = "GET", json, form, token } = {}) {
  const headers = { accept: "application/json" };
  let body;
  if (json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = new URLSearchParams(form);
  }
  if (token) {
    headers.authorization = `Bearer ${token}`;
  }
  try {
    return await fetch(apiUrl(path), { method, headers, body, cache: "no-store", credentials: "omit" });
  } catch {
    throw new ApiError(
      "network",
      `${serviceName(path)} could not be reached. Check your connection, then retry.`,
    );
  }
}

async function readBody(response) {
  try {
    return await response.clone().json();
  } catch {
    return null;
  }
}

/** True when the HTTP API refused the credentials (401, or its authorizer's bare 403 "Forbidden"). */
export async function isCredentialFailure(response) {
  if (response.status === 401) {
    return true;
  }
  if (response.status !== 403) {
    return false;
  }
  const body = await readBody(response);
  // API Gateway's own answer ({"message": "Forbidden"}), not a service's {"error": {...}} refusal.
  return body === null || (typeof body === "object" && !("error" in body));
}

function retryAfterOf(response, error) {
  const header = Number.parseInt(response.headers.get("retry-after") || "", 10);
  if (Number.isFinite(header) && header > 0) {
    return header;
  }
  const detail = error && error.details && Number(error.details.retry_after_seconds);
  return Number.isFinite(detail) && detail > 0 ? Math.ceil(detail) : 5;
}

/** The ApiError of a response that is not ok, with a readable message (never the raw body). */
export async function errorFrom(response, path) {
  const status = response.status;
  const body = await readBody(response);
  const who = serviceName(path);
  const error = body && typeof body.error === "object" && body.error !== null ? body.error : null;
  let message = "";
  let field = "";
  let code = "";
  if (error) {
    code = String(error.code || "");
    message = typeof error.message === "string" ? error.message : "";
    if (Array.isArray(error.details) && error.details.length > 0 && error.details[0]) {
      const first = error.details[0];
      field = typeof first.field === "string" ? first.field : "";
      if (typeof first.message === "string" && first.message) {
        message = first.message.replace(/^Value error, /, ""); // pydantic's prefix says nothing to a player
      }
    }
  } else if (body && typeof body.error_description === "string") {
    code = String(body.error || "");
    message = body.error_description;
  }
  if (status === 429) {
    const wait = retryAfterOf(response, error);
    return new ApiError("rate", `Slow down: too many requests. Retry in ${wait} s.`, {
      status,
      code,
      retryAfter: wait,
    });
  }
  if (status >= 500) {
    return new ApiError(
      "unavailable",
      `${who} is not available right now (error ${status}). Please retry in a moment.`,
      { status, code, retryAfter: retryAfterOf(response, error) },
    );
  }
  if (status === 404) {
    return new ApiError("not_found", message || `${who} found nothing there.`, { status, code });
  }
  if (await isCredentialFailure(response)) {
    return new ApiError("session", "Your session has ended. Please sign in again.", { status, code });
  }
  return new ApiError("invalid", message || `${who} refused the request (error ${status}).`, {
    status,
    code,
    field,
  });
}
