// The signed-in session: where the tokens live, and when they are renewed.
//
// - The access token (15 minutes) lives only in this module's variables: never in storage, a cookie or a URL.
// - The refresh token is in sessionStorage: it survives a reload of this tab, dies with the tab, and is never
//   shared with other tabs. It is rotated at each use (the idp treats a reused one as theft).
// - The access token is renewed a minute before it expires (a timer from expires_in), before a request when
//   it is about to expire (a tab asleep misses its timer), and once after a credential failure.
// - Only one refresh runs at a time: two with the same refresh token would look like a stolen token to the
//   idp, which would then revoke the session.

import { ApiError, errorFrom, send } from "./http.js";

const REFRESH_KEY = "typerush.refresh_token";
const RENEW_BEFORE_S = 60; // renew this long before expiry
const MIN_DELAY_S = 5;
const RETRY_DELAY_S = 15; // after a failed timed renewal (network, 5xx)

let accessToken = null;
let expiresAt = 0; // ms since the epoch
let timer = 0;
let refreshing = null;
const endedListeners = new Set();

function storedRefreshToken() {
  try {
    return window.sessionStorage.getItem(REFRESH_KEY);
  } catch {
    return null; // storage disabled: the session lasts as long as the page
  }
}

function storeRefreshToken(token) {
  try {
    if (token) {
      window.sessionStorage.setItem(REFRESH_KEY, token);
    } else {
      window.sessionStorage.removeItem(REFRESH_KEY);
    }
  } catch {
    // storage disabled: keep going without surviving a reload
  }
}

function schedule(delaySeconds) {
  window.clearTimeout(timer);
  timer = window.setTimeout(renewOnTimer, Math.max(MIN_DELAY_S, delaySeconds) * 1000);
}

async function renewOnTimer() {
  try {
    await refresh();
  } catch (error) {
    if (error instanceof ApiError && (error.kind === "network" || error.kind === "unavailable" || error.kind === "rate")) {
      if (Date.now() < expiresAt) {
        schedule(RETRY_DELAY_S);
      }
      return; // the next request will try again, and say what is wrong
    }
    end("expired");
  }
}

function keep(tokens) {
  accessToken = tokens.access_token;
  const lifetime = Number(tokens.expires_in) || 900;
  expiresAt = Date.now() + lifetime * 1000;
  if (tokens.refresh_token) {
    storeRefreshToken(tokens.refresh_token);
  }
  schedule(lifetime - RENEW_BEFORE_S);
}

/** Whether there is a session to resume: a token in memory, or a refresh token kept by this tab. */
export function canResume() {
  return accessToken !== null || storedRefreshToken() !== null;
}

/** Call `listener(reason)` when the session ends: "signed-out" or "expired". */
export function onEnded(listener) {
  endedListeners.add(listener);
}

/** Forget every token and timer, and tell the listeners. */
export function end(reason = "expired") {
  const had = canResume();
  accessToken = null;
  expiresAt = 0;
  window.clearTimeout(timer);
  storeRefreshToken(null);
  if (had) {
    endedListeners.forEach((listener) => listener(reason));
  }
}

/** Sign in with a password (OAuth 2.0 password grant, form-encoded as RFC 6749 says). */
export async function signIn(username, password) {
  const response = await send("/auth/token", { method: "POST", form: { grant_type: "password", username, password } });
  if (!response.ok) {
    const error = await errorFrom(response, "/auth/token");
    if (error.code === "invalid_grant") {
      throw new ApiError(
        "invalid",
        "Wrong username or password. (After 5 failed tries, the account is locked for 15 minutes.)",
        { status: error.status, code: error.code, field: "password" },
      );
    }
    throw error;
  }
  keep(await response.json());
}

/** Create an account (with an invitation code where sign-up is by invitation), then sign in with it. */
export async function register(username, password, invite = "") {
  const json = invite ? { username, password, invite } : { username, password };
  const response = await send("/auth/register", { method: "POST", json });
  if (!response.ok) {
    const error = await errorFrom(response, "/auth/register");
    if (response.status === 403) {
      const closed = error.code === "registration_closed";
      throw new ApiError(
        "invalid",
        closed ? "Sign-up is closed here." : "Creating an account here needs a valid invitation code.",
        { status: 403, code: error.code, field: "invite" },
      );
    }
    if (response.status === 409) {
      throw new ApiError("invalid", "That username is taken: choose another one, or sign in.", {
        status: 409,
        code: error.code,
        field: "username",
      });
    }
    if (error.kind === "invalid" && error.field) {
      error.field = error.field.replace(/^body\./, "");
    }
    throw error;
  }
  await signIn(username, password);
}

async function renew() {
  const token = storedRefreshToken();
  if (!token) {
    throw new ApiError("session", "Your session has ended. Please sign in again.");
  }
  const response = await send("/auth/refresh", { method: "POST", json: { refresh_token: token } });
  if (!response.ok) {
    const error = await errorFrom(response, "/auth/refresh");
    if (response.status === 400 || response.status === 401) {
      // invalid_grant: expired, revoked, or already used: the session is over
      end("expired");
      throw new ApiError("session", "Your session has ended. Please sign in again.", { status: response.status });
    }
    throw error;
  }
  keep(await response.json());
}

/** Renew the tokens (one renewal at a time, shared by every caller). */
export function refresh() {
  if (refreshing === null) {
    refreshing = renew().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

/** An access token valid for at least a few more seconds, renewing it first if needed. */
export async function validToken() {
  if (refreshing !== null) {
    await refreshing;
  }
  if (accessToken === null || Date.now() > expiresAt - 10_000) {
    await refresh();
  }
  return accessToken;
}

/** Sign out: the gateway revokes the session (its access and refresh tokens), then everything is forgotten. */
export async function signOut() {
  try {
    const token = accessToken !== null && Date.now() < expiresAt ? accessToken : await validToken();
    await send("/sessions/current", { method: "DELETE", token });
  } catch {
    // offline or already ended: the tokens are forgotten below all the same, and expire by themselves
  } finally {
    end("signed-out");
  }
}
