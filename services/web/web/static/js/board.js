// The leaderboard, the player's recent games and stats. Everything a player wrote (display names) goes into
// the page with textContent, never as HTML.

import * as api from "./api.js";

const names = new Map(); // player_id -> Promise<string>: each player is looked up once per page
const STATS_POLL_MS = 750;
const STATS_POLL_TRIES = 20; // ~15 s: the stats follow the records through a queue

const PERIODS = { day: "today", week: "this week", all: "of all time" };

function $(id) {
  return document.getElementById(id);
}

function cell(row, text, header = false) {
  const element = document.createElement(header ? "th" : "td");
  if (header) {
    element.scope = "row";
  }
  element.textContent = text;
  row.appendChild(element);
  return element;
}

function number(value, digits = 1) {
  const n = Number(value);
  return Number.isFinite(n) ? n.toFixed(digits) : "–";
}

function when(iso) {
  if (!iso) {
    return "–";
  }
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return "–";
  }
  return date.toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
}

/** Remember a display name already known (the player's own, just created). */
export function rememberName(playerId, displayName) {
  names.set(playerId, Promise.resolve(displayName));
}

export function forgetNames() {
  names.clear();
}

/** A player's display name, looked up once (GET /players/{id}) and cached. */
export function displayName(playerId) {
  if (!names.has(playerId)) {
    const lookup = api
      .getPlayer(playerId)
      .then((player) => (player ? player.display_name : "Former player"))
      .catch(() => {
        names.delete(playerId); // try again next time
        return `Player ${playerId.slice(0, 8)}`;
      });
    names.set(playerId, lookup);
  }
  return names.get(playerId);
}

/** Fill the leaderboard table; resolves with the rows (each with `name`). */
export async function showLeaderboard(difficulty, period, me) {
  const rows = await api.leaderboard(difficulty, period);
  const named = await Promise.all(rows.map(async (row) => ({ ...row, name: await displayName(row.player_id) })));
  $("board-caption").textContent = `Fastest players on ${difficulty} texts ${PERIODS[period] || ""}`;
  const body = $("board-rows");
  body.replaceChildren();
  for (const row of named) {
    const tr = document.createElement("tr");
    const mine = row.player_id === me;
    if (mine) {
      tr.className = "me";
    }
    cell(tr, String(row.rank));
    const player = cell(tr, row.name, true);
    if (mine) {
      const you = document.createElement("strong");
      you.className = "you";
      you.textContent = " (you)";
      player.appendChild(you);
    }
    cell(tr, number(row.wpm));
    cell(tr, `${number(row.accuracy)} %`);
    cell(tr, when(row.created_at));
    body.appendChild(tr);
  }
  $("board-table").hidden = named.length === 0;
  $("board-empty").hidden = named.length !== 0;
  return named;
}

/** Fill the table of the player's recent games (newest first). */
export async function showHistory(playerId) {
  const page = await api.history(playerId);
  const body = $("history-rows");
  body.replaceChildren();
  for (const record of page.items) {
    const tr = document.createElement("tr");
    cell(tr, when(record.created_at), true);
    cell(tr, record.difficulty);
    cell(tr, number(record.wpm));
    cell(tr, `${number(record.accuracy)} %`);
    cell(tr, `${number(record.duration_seconds)} s`);
    body.appendChild(tr);
  }
  $("history-table").hidden = page.items.length === 0;
  $("history-empty").hidden = page.items.length !== 0;
  return page.items;
}

function fillStats(stats) {
  const played = Number(stats.games_played) > 0;
  $("stat-games").textContent = String(stats.games_played);
  $("stat-best").textContent = played ? `${number(stats.best_wpm)} WPM` : "–";
  $("stat-average").textContent = played ? `${number(stats.average_wpm)} WPM` : "–";
  $("stat-accuracy").textContent = played ? `${number(stats.average_accuracy)} %` : "–";
  $("stat-last").textContent = when(stats.last_played_at);
}

/**
 * Show the player's stats. They are counted asynchronously from the records: when `expectedGames` is given,
 * say "updating" and poll until games_played catches up (a few seconds), then say so or give up politely.
 */
export async function showStats(playerId, expectedGames = 0, isCurrent = () => true) {
  const status = $("stats-status");
  const refresh = $("stats-refresh");
  refresh.hidden = true;
  let stats = await api.playerStats(playerId);
  fillStats(stats);
  if (stats.games_played >= expectedGames) {
    status.textContent = "";
    return stats;
  }
  status.textContent = "Updating your stats…";
  for (let attempt = 0; attempt < STATS_POLL_TRIES && stats.games_played < expectedGames; attempt += 1) {
    await new Promise((resolve) => {
      window.setTimeout(resolve, STATS_POLL_MS);
    });
    if (!isCurrent()) {
      return stats;
    }
    stats = await api.playerStats(playerId);
    fillStats(stats);
  }
  if (stats.games_played >= expectedGames) {
    status.textContent = "Stats up to date.";
  } else {
    status.textContent = "Your stats are still updating: they will include this game shortly.";
    refresh.hidden = false;
  }
  return stats;
}
