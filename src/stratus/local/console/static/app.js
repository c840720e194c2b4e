// The local console's page: plain DOM, no framework, no build step. It reads the console's JSON API
// (src/stratus/local/console/server.py) and follows /api/stream (server-sent events) to stay live.
// Every value shown comes from requests and logs, so it is set as text, never as HTML.

const MAX_REQUESTS = 200;
const MAX_LOG_LINES = 2000;
const LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"];

const state = {
  reveal: false,
  requests: [],            // summaries, newest first
  selected: null,          // the request id whose detail is open
  waitingFor: null,        // a replay's request id, opened when it arrives
  functions: [],
  selectedFunction: null,
  queues: [],
  sources: new Set(),
};

// ------------------------------------------------------------------------------------------------- helpers

const $ = (selector) => document.querySelector(selector);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "className") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function clock(epoch) {
  return new Date(epoch * 1000).toLocaleTimeString([], { hour12: false });
}

function ms(value) {
  return value === null || value === undefined ? "–" : value.toFixed(value < 10 ? 2 : 1);
}

function pretty(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

let toastTimer = null;
function toast(message) {
  const box = $("#toast");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 6000);
}

async function api(path, { method = "GET", params = {} } = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(params)) {
    if (value !== "" && value !== null && value !== undefined) url.searchParams.set(key, value);
  }
  if (method === "GET" && state.reveal) url.searchParams.set("reveal", "1");
  const init = { method, headers: { accept: "application/json" } };
  if (method !== "GET") {
    init.headers["content-type"] = "application/json";
    init.body = "{}";
  }
  const answer = await fetch(url, init);
  const body = await answer.json().catch(() => ({}));
  if (!answer.ok) {
    const message = body.message || `${answer.status} ${answer.statusText}`;
    toast(message);
    throw new Error(message);
  }
  return body;
}

const quiet = (promise) => promise.catch(() => undefined);  // api() has shown the error already

// ---------------------------------------------------------------------------------------------------- tabs

const TABS = ["requests", "functions", "queues", "schedules", "data", "logs"];

function showTab(name) {
  if (!TABS.includes(name)) name = "requests";
  for (const tab of TABS) {
    $(`#tab-${tab}`).hidden = tab !== name;
    document.querySelector(`[data-tab="${tab}"]`).classList.toggle("active", tab === name);
  }
  if (location.hash !== `#${name}`) history.replaceState(null, "", `#${name}`);
  const load = { queues: loadQueues, schedules: loadSchedules, data: loadData, logs: loadLogs, functions: loadFunctions };
  if (load[name]) quiet(load[name]());
}

// ------------------------------------------------------------------------------------------------ requests

function statusClass(status) {
  return status ? `status-${String(status)[0]}xx` : "";
}

function requestRow(summary) {
  const row = el("tr", { dataset: { requestId: summary.id }, onclick: () => openRequest(summary.id) },
    el("td", { text: clock(summary.time) }),
    el("td", { text: summary.method }),
    el("td", { className: "path", text: summary.path }),
    el("td", { className: statusClass(summary.status), text: summary.status ?? "" }),
    el("td", { text: summary.route ?? "no route" }),
    el("td", { text: summary.service ?? "" }),
    el("td", { className: "num", text: ms(summary.ms) }),
    el("td", {}, summary.cold ? el("span", { className: "badge cold", text: "cold" }) : null),
  );
  if (summary.id === state.selected) row.classList.add("selected");
  return row;
}

function renderRequests() {
  const body = $("#requests-table tbody");
  body.replaceChildren(...state.requests.map(requestRow));
  $("#requests-empty").hidden = state.requests.length > 0;
}

function addRequest(summary) {
  state.requests = [summary, ...state.requests.filter((r) => r.id !== summary.id)].slice(0, MAX_REQUESTS);
  const body = $("#requests-table tbody");
  body.querySelector(`tr[data-request-id="${CSS.escape(summary.id)}"]`)?.remove();
  const row = requestRow(summary);
  row.classList.add("fresh");
  body.prepend(row);
  while (body.rows.length > MAX_REQUESTS) body.lastElementChild.remove();
  $("#requests-empty").hidden = true;
  if (summary.id === state.waitingFor) {
    state.waitingFor = null;
    quiet(openRequest(summary.id));
  }
}

async function loadRequests() {
  state.requests = (await api("/api/requests")).requests;
  renderRequests();
}

function facts(pairs) {
  return pairs.filter(([, value]) => value !== undefined).flatMap(([name, value]) => [
    el("dt", { text: name }), el("dd", { text: value === null ? "–" : String(value) }),
  ]);
}

function showMessage(message) {
  const lines = [];
  if (message.status !== undefined) lines.push(`HTTP ${message.status}`);
  for (const [name, value] of message.headers) lines.push(`${name}: ${value}`);
  let body = message.base64 ? `(binary, base64) ${message.body}` : pretty(message.body);
  if (message.truncated) body += "\n… (cut: the rest is not shown)";
  return [...lines, "", body].join("\n");
}

function logLine(line) {
  return el("div", { className: "log-line", dataset: { level: line.level, source: line.source } },
    el("span", { className: "t", text: clock(line.time) }),
    el("span", { className: "s", text: line.source }),
    line.request_id
      ? el("span", { className: "r", text: line.request_id.slice(0, 8), title: line.request_id,
                     onclick: () => filterByRequest(line.request_id) })
      : el("span", { className: "r muted", text: "        " }),
    el("span", { className: "m", text: line.line }),
  );
}

async function openRequest(id) {
  state.selected = id;
  for (const row of document.querySelectorAll("#requests-table tbody tr")) {
    row.classList.toggle("selected", row.dataset.requestId === id);
  }
  const detail = await api(`/api/requests/${encodeURIComponent(id)}`);
  if (state.selected !== id) return;
  $("#request-detail").hidden = false;
  $("#detail-summary").textContent = `${detail.method} ${detail.path} → ${detail.status}  ·  ${detail.id}`;
  const call = detail.invocation;
  $("#detail-timings").replaceChildren(...facts([
    ["total", `${ms(detail.ms)} ms`],
    ["function", call ? call.function : "none (no Lambda integration)"],
    ["duration", call ? `${ms(call.duration_ms)} ms` : undefined],
    ["cold start", call ? (call.cold ? `yes, init ${ms(call.init_ms)} ms` : "no (a warm environment)") : undefined],
    ["function request id", call ? call.request_id : undefined],
    ["error", call && call.error ? call.error : undefined],
  ]));
  const auth = detail.authorizer;
  $("#detail-authorizer").replaceChildren(...(auth ? facts([
    ["authorizer", auth.name],
    ["decision", auth.outcome + (auth.cached ? " (cached)" : "")],
    ["context", auth.context ? JSON.stringify(auth.context) : null],
    ["its request id", auth.function_request_id],
  ]) : facts([["authorizer", "none on this route"]])));
  $("#detail-event").textContent = detail.event ? JSON.stringify(detail.event, null, 2) : "(no event: the route goes to a container, or no route matched)";
  $("#detail-response").textContent = detail.response ? showMessage(detail.response) : "";
  $("#detail-request").textContent = showMessage({ ...detail.request, status: undefined });
  $("#detail-logs").replaceChildren(...detail.logs.map(logLine));
}

async function replay() {
  if (!state.selected) return;
  const answer = await api(`/api/requests/${encodeURIComponent(state.selected)}/replay`, { method: "POST" });
  if (!answer.id) return;
  if (state.requests.some((r) => r.id === answer.id)) await openRequest(answer.id);
  else state.waitingFor = answer.id;
}

// ----------------------------------------------------------------------------------------------- functions

function pool(environments) {
  const { warm, busy, starting } = environments;
  return `${warm} warm · ${busy} busy` + (starting ? ` · ${starting} starting` : "");
}

function renderFunctions() {
  const rows = state.functions.map((fn) => {
    const row = el("tr", { dataset: { function: fn.key }, onclick: () => selectFunction(fn.key) },
      el("td", {}, fn.key, " ", el("span", { className: "badge", text: fn.kind })),
      el("td", { text: fn.handler }),
      el("td", { text: pool(fn.environments) }),
      el("td", { className: "num", text: fn.invocations }),
      el("td", { className: "num" }, fn.errors ? el("span", { className: "badge bad", text: fn.errors }) : "0"),
      el("td", { className: "num", text: fn.throttles }),
      el("td", { className: "num", text: fn.cold_starts }),
      el("td", { className: "num", text: ms(fn.p50_ms) }),
      el("td", { className: "num", text: ms(fn.p99_ms) }),
    );
    if (fn.key === state.selectedFunction) row.classList.add("selected");
    return row;
  });
  $("#functions-table tbody").replaceChildren(...rows);
  renderFunctionDetail();
}

function selectFunction(key) {
  state.selectedFunction = key;
  renderFunctions();
}

function renderFunctionDetail() {
  const fn = state.functions.find((f) => f.key === state.selectedFunction);
  const box = $("#function-detail");
  box.hidden = !fn;
  if (!fn) return;
  const error = fn.last_error;
  box.replaceChildren(
    el("h3", { text: fn.key }),
    el("dl", { className: "facts" }, ...facts([
      ["AWS name", fn.name], ["handler", fn.handler], ["memory", `${fn.memory} MB`], ["timeout", `${fn.timeout} s`],
      ["reserved concurrency", fn.reserved_concurrency ?? "none"], ["environments", pool(fn.environments)],
    ])),
    el("h3", { text: "Grants (its role)" }),
    fn.grants.length ? el("ul", { className: "mono" }, ...fn.grants.map((g) => el("li", { text: g }))) : el("p", { className: "muted", text: "none" }),
    el("h3", { text: "Last error" }),
    error
      ? el("div", {},
          el("p", {}, el("span", { className: "badge bad", text: error.type }), " ", error.message),
          el("p", { className: "muted mono", text: `${clock(error.time)} · ${error.request_id}` }),
          el("pre", { text: error.trace.join("\n") || "(no traceback)" }))
      : el("p", { className: "muted", text: "none" }),
  );
}

async function loadFunctions() {
  state.functions = (await api("/api/functions")).functions;
  renderFunctions();
}

// -------------------------------------------------------------------------------------------------- queues

function renderQueues() {
  const rows = state.queues.map((q) => el("tr", { dataset: { queue: q.name } },
    el("td", {}, q.name, el("div", { className: "muted", text: q.aws_name })),
    el("td", { text: q.consumer ?? "none" }),
    el("td", { className: "num waiting", text: q.waiting }),
    el("td", { className: "num in-flight", text: q.in_flight }),
    el("td", { className: "num per-second", text: q.per_second.toFixed(1) }),
    el("td", { className: `num dlq-waiting${q.dlq.waiting ? " status-5xx" : ""}`, text: q.dlq.waiting }),
    el("td", {},
      el("button", { dataset: { inspect: q.name }, onclick: () => quiet(inspectDlq(q.name)), text: "Inspect DLQ" }), " ",
      el("button", { dataset: { redrive: q.name }, onclick: () => quiet(redrive(q.name)), text: "Redrive" })),
  ));
  $("#queues-table tbody").replaceChildren(...rows);
  $("#queues-empty").hidden = state.queues.length > 0;
}

async function loadQueues() {
  state.queues = (await api("/api/queues")).queues;
  renderQueues();
}

async function inspectDlq(name) {
  const { messages } = await api(`/api/queues/${encodeURIComponent(name)}/dlq`);
  $("#dlq-status").textContent = messages.length ? `${name}'s DLQ: ${messages.length} message(s) shown, left in place`
                                                 : `${name}'s DLQ is empty`;
  $("#dlq-messages").replaceChildren(...messages.map((m) => el("div", { className: "dlq-message" },
    el("div", { className: "meta mono", text: `${m.id} · received ${m.receive_count}× · sent ${clock(m.sent)}` }),
    el("pre", { text: pretty(m.body) }),
  )));
}

async function redrive(name) {
  const { moved } = await api(`/api/queues/${encodeURIComponent(name)}/redrive`, { method: "POST" });
  $("#dlq-status").textContent = `${name}: moved ${moved} message(s) back to the queue`;
  $("#dlq-messages").replaceChildren();
  await loadQueues();
}

// ----------------------------------------------------------------------------------------------- schedules

function lastRun(run) {
  if (!run) return "never";
  const outcome = run.error ? `failed: ${run.error}` : "ok";
  return `${clock(run.time)} · ${outcome}${run.manual ? " · manual" : ""}`;
}

async function loadSchedules() {
  const { schedules } = await api("/api/schedules");
  renderSchedules(schedules);
}

function renderSchedules(schedules) {
  $("#schedules-table tbody").replaceChildren(...schedules.map((s) => el("tr", { dataset: { schedule: s.key } },
    el("td", { text: s.key }),
    el("td", { className: "mono", text: s.expression }),
    el("td", { text: s.handler }),
    el("td", { text: s.next_run ? new Date(s.next_run).toLocaleString([], { hour12: false }) : "–" }),
    el("td", { className: `last-run${s.last_run?.error ? " status-5xx" : ""}`, text: lastRun(s.last_run) }),
    el("td", {}, el("button", { dataset: { run: s.key }, onclick: () => quiet(runSchedule(s.key)), text: "Run now" })),
  )));
  $("#schedules-empty").hidden = schedules.length > 0;
}

async function runSchedule(key) {
  const button = document.querySelector(`button[data-run="${CSS.escape(key)}"]`);
  if (button) button.disabled = true;
  try {
    const ran = await api("/api/schedules/run", { method: "POST", params: { key } });
    if (ran.error) toast(`${key}: ${ran.error}`);
  } finally {
    await loadSchedules();
  }
}

// ---------------------------------------------------------------------------------------------------- data

async function loadData() {
  const [{ tables }, { buckets }] = await Promise.all([api("/api/tables"), api("/api/buckets")]);
  $("#tables-list").replaceChildren(...(tables.length ? tables.map((t) => el("button", {
    dataset: { table: t.name }, onclick: (e) => { choose(e.target); quiet(showItems(t.name)); },
    text: `${t.name} (${t.items} items)`,
  })) : [el("span", { className: "muted", text: "none declared" })]));
  $("#buckets-list").replaceChildren(...(buckets.length ? buckets.map((b) => el("button", {
    dataset: { bucket: b.name }, onclick: (e) => { choose(e.target); quiet(showObjects(b.name, "")); }, text: b.name,
  })) : [el("span", { className: "muted", text: "none declared" })]));
}

function choose(button) {
  for (const other of document.querySelectorAll(".choices button")) other.classList.toggle("selected", other === button);
}

function clearData() {
  $("#table-items").replaceChildren();
  $("#bucket-objects").replaceChildren();
  $("#object-preview").hidden = true;
}

async function showItems(table, start = null, append = false) {
  const page = await api(`/api/tables/${encodeURIComponent(table)}/items`, { params: { start } });
  if (!append) clearData();
  const box = $("#table-items");
  box.querySelector("button.more")?.remove();
  if (!append) box.append(el("h3", { text: `${table}: items (read only)` }));
  box.append(...page.items.map((item) => el("pre", { text: JSON.stringify(item, null, 2) })));
  if (!page.items.length && !append) box.append(el("p", { className: "muted", text: "no items" }));
  if (page.next) box.append(el("button", { className: "more", text: "more", onclick: () => quiet(showItems(table, page.next, true)) }));
}

async function showObjects(bucket, prefix) {
  const page = await api(`/api/buckets/${encodeURIComponent(bucket)}/objects`, { params: { prefix } });
  clearData();
  const parts = prefix.split("/").filter(Boolean);
  const crumbs = el("div", { className: "crumbs" },
    el("button", { text: bucket, onclick: () => quiet(showObjects(bucket, "")) }),
    ...parts.map((part, i) => el("button", { text: `${part}/`, onclick: () => quiet(showObjects(bucket, parts.slice(0, i + 1).join("/") + "/")) })));
  const rows = [
    ...page.prefixes.map((p) => el("tr", {}, el("td", {}, el("button", { text: p.slice(prefix.length), onclick: () => quiet(showObjects(bucket, p)) })), el("td"), el("td"))),
    ...page.objects.map((o) => el("tr", {},
      el("td", {}, el("button", { text: o.key.slice(prefix.length), onclick: () => quiet(showObject(bucket, o.key)) })),
      el("td", { className: "num", text: o.size }),
      el("td", { text: new Date(o.modified).toLocaleString([], { hour12: false }) }))),
  ];
  $("#bucket-objects").append(el("h3", { text: `${bucket} (read only)` }), crumbs,
    rows.length ? el("table", {}, el("tbody", {}, ...rows)) : el("p", { className: "muted", text: "empty" }));
}

async function showObject(bucket, key) {
  const found = await api(`/api/buckets/${encodeURIComponent(bucket)}/object`, { params: { key } });
  const preview = $("#object-preview");
  preview.hidden = false;
  const head = `${found.key} · ${found.size} bytes · ${found.content_type || "no content type"}\n\n`;
  preview.textContent = head + (found.text === null ? "(binary: not shown)" : found.text) + (found.truncated ? "\n… (first 64 KB)" : "");
}

// ---------------------------------------------------------------------------------------------------- logs

function logFilters() {
  return { service: $("#log-service").value, level: $("#log-level").value, request_id: $("#log-request").value.trim() };
}

function matches(line, filters) {
  if (filters.service && line.source !== filters.service && !line.source.startsWith(`${filters.service}/`)) return false;
  if (filters.level && LEVELS.indexOf(line.level) < LEVELS.indexOf(filters.level)) return false;
  return !filters.request_id || (line.request_id || "").startsWith(filters.request_id);
}

function noteSource(source) {
  if (state.sources.has(source)) return;
  state.sources.add(source);
  const select = $("#log-service");
  const chosen = select.value;
  const names = [...state.sources].sort();
  select.replaceChildren(el("option", { value: "", text: "every service" }), ...names.map((n) => el("option", { value: n, text: n })));
  select.value = chosen;
}

async function loadLogs() {
  const { logs } = await api("/api/logs", { params: { ...logFilters(), limit: MAX_LOG_LINES } });
  logs.forEach((line) => noteSource(line.source));
  $("#log-lines").replaceChildren(...logs.map(logLine));
  follow();
}

function appendLog(line) {
  noteSource(line.source);
  if ($("#tab-logs").hidden || !matches(line, logFilters())) return;
  const box = $("#log-lines");
  box.append(logLine(line));
  while (box.childElementCount > MAX_LOG_LINES) box.firstElementChild.remove();
  follow();
}

function follow() {
  if ($("#log-follow").checked) {
    const box = $("#log-lines");
    box.scrollTop = box.scrollHeight;
  }
}

function filterByRequest(id) {
  $("#log-request").value = id;
  showTab("logs");
}

// ---------------------------------------------------------------------------------------------------- live

let stream = null;

function connect() {
  stream?.close();
  stream = new EventSource(state.reveal ? "/api/stream?reveal=1" : "/api/stream");
  const live = $("#live");
  stream.onopen = () => {
    live.textContent = "live";
    live.className = "live";
    quiet(loadRequests());  // what happened while it was away
  };
  stream.onerror = () => {
    live.textContent = "offline";
    live.className = "offline";
  };
  stream.addEventListener("request", (e) => addRequest(JSON.parse(e.data)));
  stream.addEventListener("log", (e) => appendLog(JSON.parse(e.data)));
  stream.addEventListener("functions", (e) => {
    state.functions = JSON.parse(e.data).functions;
    if (!$("#tab-functions").hidden) renderFunctions();
  });
  stream.addEventListener("queues", (e) => {
    state.queues = JSON.parse(e.data).queues;
    if (!$("#tab-queues").hidden) renderQueues();
  });
  stream.addEventListener("schedules", (e) => renderSchedules(JSON.parse(e.data).schedules));
}

// ---------------------------------------------------------------------------------------------------- start

async function start() {
  for (const button of document.querySelectorAll("nav [data-tab]")) {
    button.addEventListener("click", () => showTab(button.dataset.tab));
  }
  $("#replay").addEventListener("click", () => quiet(replay()));
  $("#reveal").addEventListener("change", (e) => {
    state.reveal = e.target.checked;
    connect();
    if (state.selected) quiet(openRequest(state.selected));
    showTab(location.hash.slice(1));
  });
  for (const id of ["#log-service", "#log-level"]) $(id).addEventListener("change", () => quiet(loadLogs()));
  let typing = null;
  $("#log-request").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => quiet(loadLogs()), 250);
  });
  $("#log-follow").addEventListener("change", follow);
  window.addEventListener("hashchange", () => showTab(location.hash.slice(1)));

  const overview = await api("/api/overview");
  $("#project").textContent = `${overview.project} · ${overview.env}`;
  const link = $("#api-link");
  link.href = overview.api;
  link.textContent = overview.api;
  overview.services.forEach(noteSource);
  document.title = `${overview.project} · stratus console`;
  showTab(location.hash.slice(1));
  connect();
}

quiet(start());
