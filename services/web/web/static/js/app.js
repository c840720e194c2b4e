// TypeRush: the page's controller. Sign in or up, create the profile, play, submit, see the scores.
//
// Views: "auth" (sign in / create account), "profile" (first visit), "game" (the game and the scores).
// Every call that can fail goes through attempt(), which shows a readable notice with a way on (retry,
// sign in again, wait N seconds) instead of leaving the page blank.

import * as api from "./api.js";
import * as board from "./board.js";
import { ApiError } from "./http.js";
import * as session from "./session.js";
import { MAX_WPM, Typing, describeCharacter, round } from "./typing.js";

const $ = (id) => document.getElementById(id);

const state = {
  me: null, // the account's sub, also its player_id
  username: "",
  player: null,
  text: null, // the text being played: {text_id, difficulty, content, ...}
  typing: null,
  spans: [],
  ticker: 0,
  lastErrors: 0,
  submitting: false,
  expectedGames: 0, // games the stats should count once every submitted record has reached them
  generation: 0, // bumped at sign-out: late answers for an earlier session are dropped
};

// ------------------------------------------------------------------------------------------------ views

const VIEWS = { auth: ["auth-view"], profile: ["profile-view"], game: ["game-view", "scores-view"] };

function showView(name) {
  $("loading").hidden = true;
  const visible = new Set(VIEWS[name]);
  for (const id of ["auth-view", "profile-view", "game-view", "scores-view"]) {
    $(id).hidden = !visible.has(id);
  }
}

function setBusy(form, busy) {
  form.setAttribute("aria-busy", String(busy));
  for (const button of form.querySelectorAll("button")) {
    button.disabled = busy;
  }
}

// ---------------------------------------------------------------------------------------------- notices

let countdown = 0;

function hideNotice() {
  window.clearInterval(countdown);
  $("notice").hidden = true;
}

/** Show `message`; `action` = {label, run, wait?}: a button (enabled after `wait` seconds) that runs `run`. */
function showNotice(message, action = null, { focus = true } = {}) {
  window.clearInterval(countdown);
  $("loading").hidden = true;
  $("notice-text").textContent = message;
  const button = $("notice-action");
  button.hidden = action === null;
  button.onclick = null;
  $("notice").hidden = false;
  if (action === null) {
    return;
  }
  button.textContent = action.label;
  button.onclick = () => {
    hideNotice();
    action.run();
  };
  let left = Math.ceil(action.wait || 0);
  button.disabled = left > 0;
  if (left > 0) {
    const tick = () => {
      if (left <= 0) {
        window.clearInterval(countdown);
        button.disabled = false;
        button.textContent = action.label;
        $("notice-text").textContent = message.replace(/Retry in \d+ s\./, "You may retry now.");
        return;
      }
      button.textContent = `${action.label} (${left} s)`;
      left -= 1;
    };
    tick();
    countdown = window.setInterval(tick, 1000);
  } else if (focus) {
    button.focus();
  }
}

/** Tell the player what went wrong and how to go on; `retry` runs the failed action again. */
function report(error, retry = null) {
  if (!(error instanceof ApiError)) {
    console.error(error); // eslint-disable-line no-console
    showNotice("Something went wrong in the page. Please retry, or reload the page.", retry && { label: "Retry", run: retry });
    return;
  }
  switch (error.kind) {
    case "session":
      if (session.canResume()) {
        session.end("expired"); // its listener shows the sign-in form and says why
      } else {
        sessionEnded();
      }
      break;
    case "rate":
      showNotice(error.message, retry && { label: "Retry", run: retry, wait: error.retryAfter }, { focus: false });
      break;
    case "unavailable":
    case "network":
      showNotice(error.message, retry && { label: "Retry", run: retry });
      break;
    default:
      showNotice(error.message, retry && { label: "Try again", run: retry });
  }
}

/** Run `action`; on failure, report it with a retry. Resolves with the action's value, or undefined. */
async function attempt(action) {
  try {
    return await action();
  } catch (error) {
    report(error, () => {
      attempt(action);
    });
    return undefined;
  }
}

// --------------------------------------------------------------------------------------- sign in / up

function showAuth(message = "") {
  showView("auth");
  $("account").hidden = true;
  $("auth-status").textContent = message;
  $("auth-username").focus();
}

async function onAuthSubmit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const registering = event.submitter !== null && event.submitter !== undefined && event.submitter.value === "register";
  const username = $("auth-username").value.trim().toLowerCase(); // usernames are lower-case
  const password = $("auth-password").value;
  const status = $("auth-status");
  if (!username || !password) {
    status.textContent = "Enter a username and a password.";
    (username ? $("auth-password") : $("auth-username")).focus();
    return;
  }
  if (registering && password.length < 12) {
    status.textContent = "A new account's password needs at least 12 characters.";
    $("auth-password").focus();
    return;
  }
  hideNotice();
  setBusy(form, true);
  status.textContent = registering ? "Creating your account…" : "Signing in…";
  try {
    const invite = $("auth-invite").value.trim();
    await (registering ? session.register(username, password, invite) : session.signIn(username, password));
    $("auth-password").value = "";
    status.textContent = "";
    await attempt(enter);
  } catch (error) {
    if (error instanceof ApiError && error.kind === "invalid") {
      status.textContent = error.message;
      const fields = { username: "auth-username", invite: "auth-invite" };
      $(fields[Object.keys(fields).find((name) => error.field.includes(name))] || "auth-password").focus();
    } else {
      status.textContent = "";
      report(error, () => form.requestSubmit(event.submitter || undefined));
    }
  } finally {
    setBusy(form, false);
  }
}

/** Signed in: who am I, and do I have a profile yet? */
async function enter() {
  const generation = state.generation;
  const info = await api.userinfo();
  if (generation !== state.generation) {
    return;
  }
  state.me = info.sub;
  state.username = info.preferred_username || "";
  $("account-name").textContent = state.username || "player";
  $("account").hidden = false;
  const player = await api.getPlayer(info.sub);
  if (generation !== state.generation) {
    return;
  }
  if (player === null) {
    $("profile-name").value = state.username.slice(0, 40);
    showView("profile");
    $("profile-title").focus();
    return;
  }
  startPlaying(player);
}

// ------------------------------------------------------------------------------------------------ profile

const PROFILE_FIELDS = { display_name: "profile-name", country: "profile-country", preferred_difficulty: "profile-difficulty" };

async function onProfileSubmit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const status = $("profile-status");
  const displayName = $("profile-name").value.trim();
  const country = $("profile-country").value.trim().toUpperCase();
  if (!displayName) {
    status.textContent = "Choose a display name.";
    $("profile-name").focus();
    return;
  }
  if (country && !/^[A-Z]{2}$/.test(country)) {
    status.textContent = "The country code is two letters, such as GB or FR (or leave it empty).";
    $("profile-country").focus();
    return;
  }
  const profile = { display_name: displayName, preferred_difficulty: $("profile-difficulty").value };
  if (country) {
    profile.country = country;
  }
  hideNotice();
  setBusy(form, true);
  status.textContent = "Creating your profile…";
  try {
    let player;
    try {
      player = await api.createPlayer(profile);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409)) {
        throw error;
      }
      player = await api.getPlayer(state.me); // created meanwhile (another tab): use it
    }
    status.textContent = "";
    startPlaying(player);
  } catch (error) {
    if (error instanceof ApiError && error.kind === "invalid") {
      const field = error.field.replace(/^body\./, "");
      status.textContent = error.message;
      $(PROFILE_FIELDS[field] || "profile-name").focus();
    } else {
      status.textContent = "";
      report(error, () => form.requestSubmit());
    }
  } finally {
    setBusy(form, false);
  }
}

// --------------------------------------------------------------------------------------------------- game

function chosenDifficulty() {
  const checked = document.querySelector('input[name="difficulty"]:checked');
  return checked ? checked.value : "medium";
}

function startPlaying(player) {
  state.player = player;
  board.rememberName(player.player_id, player.display_name);
  $("account-name").textContent = player.display_name;
  const difficulty = player.preferred_difficulty || "medium";
  const radio = $(`difficulty-${difficulty}`);
  if (radio) {
    radio.checked = true;
  }
  $("board-difficulty").value = difficulty;
  showView("game");
  (radio || $("start")).focus();
  refreshScores(null);
}

function onStart(event) {
  event.preventDefault();
  newText();
}

/** Get a random text of the chosen difficulty and lay it out (a retry after a failure does it all again). */
function newText() {
  const difficulty = chosenDifficulty();
  return attempt(() => loadText(difficulty));
}

async function loadText(difficulty) {
  hideNotice();
  const start = $("start");
  start.disabled = true;
  const generation = state.generation;
  try {
    const text = await api.randomText(difficulty);
    if (generation === state.generation) {
      state.text = text;
      prepare();
    }
  } finally {
    start.disabled = false;
  }
}

/** Lay out the current text and a fresh input: the timer starts with the first key. */
function prepare() {
  stopTicker();
  const content = state.text.content;
  state.typing = new Typing(content);
  state.lastErrors = 0;
  state.submitting = false;
  state.spans = [];
  const passage = $("passage");
  passage.replaceChildren();
  for (let i = 0; i < content.length; i += 1) {
    const span = document.createElement("span");
    span.textContent = content[i];
    if (content[i] === " ") {
      span.dataset.space = "true";
    }
    state.spans.push(span);
    passage.appendChild(span);
  }
  $("passage-plain").textContent = content;
  $("passage-title").textContent = `The text (${state.text.difficulty}, ${state.text.word_count ?? "?"} words)`;
  const input = $("typing");
  input.value = "";
  input.readOnly = false;
  input.maxLength = content.length;
  $("submit-score").disabled = true;
  $("result").hidden = true;
  $("play").hidden = false;
  render();
  $("typing-status").textContent = "Ready: the timer starts with your first key.";
  input.focus();
}

function render() {
  const typing = state.typing;
  const now = performance.now();
  for (let i = 0; i < state.spans.length; i += 1) {
    const span = state.spans[i];
    const status = typing.state(i);
    span.className = `ch ${status}`;
    if (span.dataset.space) {
      span.textContent = status === "error" ? "␣" : " "; // a mistyped space shows, not only in colour
    }
  }
  const errors = typing.errorPositions();
  $("live-wpm").textContent = String(Math.round(typing.wpm(now)));
  $("live-accuracy").textContent = typing.accuracy().toFixed(1);
  $("live-errors").textContent = String(errors.length);
  $("live-time").textContent = typing.seconds(now).toFixed(1);
  if (errors.length !== state.lastErrors) {
    announceErrors(errors);
    state.lastErrors = errors.length;
  }
}

function announceErrors(errors) {
  const status = $("typing-status");
  if (errors.length === 0) {
    status.textContent = "Corrected: no errors.";
    return;
  }
  const at = errors[0];
  const typing = state.typing;
  const plural = errors.length === 1 ? "error" : "errors";
  status.textContent =
    `${errors.length} ${plural}: at character ${at + 1} the text has ${describeCharacter(typing.text[at])}, ` +
    `you typed ${describeCharacter(typing.typed[at])}. Use Backspace to correct.`;
}

function startTicker() {
  if (state.ticker === 0) {
    state.ticker = window.setInterval(() => {
      const typing = state.typing;
      $("live-wpm").textContent = String(Math.round(typing.wpm(performance.now())));
      $("live-time").textContent = typing.seconds(performance.now()).toFixed(1);
    }, 250);
  }
}

function stopTicker() {
  window.clearInterval(state.ticker);
  state.ticker = 0;
}

function onTyping() {
  const typing = state.typing;
  if (typing === null || typing.finished) {
    return;
  }
  typing.update($("typing").value, performance.now());
  if (typing.started) {
    startTicker();
  }
  render();
  if (typing.finished) {
    finish();
  }
}

function finish() {
  stopTicker();
  const typing = state.typing;
  render();
  $("typing").readOnly = true;
  const wpm = typing.wpm(typing.finishedAt);
  const summary = `Finished: ${round(wpm, 1)} WPM, ${round(typing.accuracy(), 1)} % accuracy in ${typing.seconds(0).toFixed(1)} s.`;
  if (wpm > MAX_WPM) {
    $("typing-status").textContent = `${summary} Scores over ${MAX_WPM} WPM cannot be recorded: press Esc to try again.`;
    return;
  }
  $("typing-status").textContent = `${summary} Press Enter to submit your score, or Esc to try again.`;
  const submit = $("submit-score");
  submit.disabled = false;
  submit.focus();
}

function restart() {
  if (state.text === null) {
    return;
  }
  hideNotice();
  prepare();
  $("typing-status").textContent = "Restarted: the timer starts with your first key.";
}

async function submitScore() {
  const typing = state.typing;
  if (typing === null || !typing.finished || state.submitting) {
    return;
  }
  const record = typing.record(state.me, state.text.text_id);
  if (record.wpm > MAX_WPM) {
    return;
  }
  state.submitting = true;
  const submit = $("submit-score");
  submit.disabled = true;
  $("typing-status").textContent = "Saving your score…";
  hideNotice();
  const generation = state.generation;
  try {
    const saved = await api.postRecord(record);
    if (generation !== state.generation) {
      return;
    }
    state.expectedGames += 1;
    $("play").hidden = true;
    $("result").hidden = false;
    $("result-text").textContent =
      `Saved: ${Number(saved.wpm).toFixed(1)} WPM at ${Number(saved.accuracy).toFixed(1)} % accuracy ` +
      `in ${Number(saved.duration_seconds).toFixed(1)} s (${saved.difficulty} text).`;
    $("play-again").focus();
    $("board-difficulty").value = saved.difficulty;
    await refreshScores(saved);
  } catch (error) {
    $("typing-status").textContent = "Your score was not saved yet.";
    submit.disabled = false;
    report(error, submitScore);
  } finally {
    state.submitting = false;
  }
}

// ------------------------------------------------------------------------------------------------- scores

function refreshBoard() {
  return board.showLeaderboard($("board-difficulty").value, $("board-period").value, state.me);
}

/** Reload the leaderboard, the history and the stats; `saved` is a record just submitted, if any. */
async function refreshScores(saved) {
  const generation = state.generation;
  const isCurrent = () => generation === state.generation;
  const rows = attempt(refreshBoard).then((named) => {
    if (saved && named && isCurrent()) {
      const mine = named.find((row) => row.player_id === state.me);
      const period = $("board-period").selectedOptions[0].textContent.toLowerCase();
      if (mine) {
        $("result-text").textContent += ` You are #${mine.rank} on the ${saved.difficulty} leaderboard (${period}).`;
      }
    }
  });
  const history = attempt(() => board.showHistory(state.me));
  const stats = attempt(async () => {
    const current = await board.showStats(state.me, state.expectedGames, isCurrent);
    if (isCurrent() && current && current.games_played > state.expectedGames) {
      state.expectedGames = current.games_played;
    }
  });
  await Promise.all([rows, history, stats]);
}

// ----------------------------------------------------------------------------------------------- sign-out

function resetAll() {
  state.generation += 1;
  stopTicker();
  hideNotice();
  Object.assign(state, { me: null, username: "", player: null, text: null, typing: null, spans: [] });
  state.expectedGames = 0;
  board.forgetNames();
  for (const id of ["board-rows", "history-rows", "passage"]) {
    $(id).replaceChildren();
  }
  for (const id of ["passage-plain", "typing-status", "stats-status", "result-text", "auth-status", "profile-status"]) {
    $(id).textContent = "";
  }
  $("typing").value = "";
  $("play").hidden = true;
  $("result").hidden = true;
  $("auth-form").reset();
  $("profile-form").reset();
  $("account").hidden = true;
}

/** The session expired or was revoked (here, or in another place): say so, and offer to sign in again. */
function sessionEnded() {
  resetAll();
  showAuth();
  showNotice(
    "Your session has ended. Please sign in again.",
    { label: "Sign in again", run: () => $("auth-username").focus() },
    { focus: false },
  );
}

function onSessionEnded(reason) {
  if (reason === "signed-out") {
    resetAll();
    showAuth("You are signed out.");
  } else {
    sessionEnded();
  }
}

// ----------------------------------------------------------------------------------------------- keyboard

function onTypingKey(event) {
  if (event.key === "Enter") {
    event.preventDefault(); // the texts are one paragraph: Enter never types
    if (state.typing && state.typing.finished) {
      submitScore();
    }
  }
}

function onGlobalKey(event) {
  if (event.key !== "Escape" || $("game-view").hidden || state.text === null) {
    return;
  }
  if (event.target instanceof HTMLSelectElement) {
    return; // Esc closes an open list
  }
  event.preventDefault();
  restart();
}

function onStartKey(event) {
  // Enter on a difficulty radio starts too (browsers do not submit a form from a radio by themselves)
  if (event.key === "Enter" && event.target instanceof HTMLInputElement && event.target.type === "radio") {
    event.preventDefault();
    $("start-form").requestSubmit();
  }
}

function refuse(event) {
  event.preventDefault();
  $("typing-status").textContent = "Pasting and dropping text are turned off: type the text.";
}

// ---------------------------------------------------------------------------------------------------- boot

function wire() {
  $("auth-form").addEventListener("submit", onAuthSubmit);
  $("profile-form").addEventListener("submit", onProfileSubmit);
  $("start-form").addEventListener("submit", onStart);
  $("start-form").addEventListener("keydown", onStartKey);
  const input = $("typing");
  input.addEventListener("input", onTyping);
  input.addEventListener("keydown", onTypingKey);
  input.addEventListener("paste", refuse);
  input.addEventListener("drop", refuse);
  $("submit-score").addEventListener("click", submitScore);
  $("restart").addEventListener("click", restart);
  $("new-text").addEventListener("click", newText);
  $("play-again").addEventListener("click", newText);
  $("board-form").addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(refreshBoard);
  });
  $("board-difficulty").addEventListener("change", () => attempt(refreshBoard));
  $("board-period").addEventListener("change", () => attempt(refreshBoard));
  $("stats-refresh").addEventListener("click", () => attempt(() => board.showStats(state.me, state.expectedGames)));
  $("sign-out").addEventListener("click", () => session.signOut());
  $("notice-dismiss").addEventListener("click", hideNotice);
  document.addEventListener("keydown", onGlobalKey);
  session.onEnded(onSessionEnded);
}

async function boot() {
  wire();
  if (session.canResume()) {
    await attempt(enter); // a reload: the refresh token kept by this tab renews the session
  } else {
    showAuth();
  }
}

boot();
