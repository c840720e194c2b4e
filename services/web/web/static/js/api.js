// The game's calls to the APIs, each with the signed-in player's access token.

import { ApiError, errorFrom, isCredentialFailure, send } from "./http.js";
import * as session from "./session.js";

/**
 * One authenticated call: the token is renewed first if it is about to expire, and once more if the API
 * refuses it (then the call is sent again). Resolves with the parsed JSON (null for 204); rejects with ApiError.
 */
export async function request(path, { method = "GET", json } = {}) {
  let response = await send(path, { method, json, token: await session.validToken() });
  if (await isCredentialFailure(response)) {
    await session.refresh();
    response = await send(path, { method, json, token: await session.validToken() });
    if (await isCredentialFailure(response)) {
      session.end("expired");
      throw new ApiError("session", "Your session has ended. Please sign in again.", { status: response.status });
    }
  }
  if (!response.ok) {
    throw await errorFrom(response, path);
  }
  if (response.status === 204) {
    return null;
  }
  return response.json();
}

function query(params) {
  return new URLSearchParams(params).toString();
}

const segment = encodeURIComponent;

/** Who the token belongs to: {sub, preferred_username, ...}. */
export function userinfo() {
  return request("/auth/userinfo");
}

/** The player's profile, or null when the account has none yet. */
export async function getPlayer(playerId) {
  try {
    return await request(`/players/${segment(playerId)}`);
  } catch (error) {
    if (error instanceof ApiError && error.kind === "not_found") {
      return null;
    }
    throw error;
  }
}

export function createPlayer(profile) {
  return request("/players", { method: "POST", json: profile });
}

export function playerStats(playerId) {
  return request(`/players/${segment(playerId)}/stats`);
}

export function randomText(difficulty) {
  return request(`/texts/random?${query({ difficulty })}`);
}

export function postRecord(record) {
  return request("/records", { method: "POST", json: record });
}

export function leaderboard(difficulty, period, limit = 10) {
  return request(`/records/leaderboard?${query({ difficulty, period, limit })}`);
}

export function history(playerId, limit = 10) {
  return request(`/records/players/${segment(playerId)}?${query({ limit })}`);
}
