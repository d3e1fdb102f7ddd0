// Sluice admin pages: integrations, flows (editor and playground), chats. Plain JS, no build.
// The API key lives in sessionStorage and goes out as "Authorization: Bearer <key>".
"use strict";

const KEY_NAME = "sluice.adminKey";
const $ = (id) => document.getElementById(id);
const state = { integration: null, flow: null, flowDocument: null, chatId: null };

class HTTPError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.field ? `${error.field}: ${error.message}` : error.message || `HTTP ${status}`);
    this.status = status;
    this.field = error.field || null;
  }
}

function authHeaders(extra = {}) {
  return { Authorization: `Bearer ${sessionStorage.getItem(KEY_NAME) || ""}`, ...extra };
}

async function request(path, { method, body } = {}) {
  const init = { method: method || (body === undefined ? "GET" : "POST"), headers: authHeaders() };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  return checked(response);
}

async function checked(response) {
  if (response.status === 401) askForKey("That API key was refused.");
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch { body = null; }
    throw new HTTPError(response.status, body);
  }
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : response;
}

function notice(text) { $("notice").textContent = text; }

// ---- the key ---------------------------------------------------------------------------

function askForKey(message = "") {
  sessionStorage.removeItem(KEY_NAME);
  $("key-error").textContent = message;
  if (!$("key-dialog").open) $("key-dialog").showModal();
}

async function useKey(event) {
  event.preventDefault();
  sessionStorage.setItem(KEY_NAME, $("api-key").value.trim());
  try {
    await request("/api/v1/admin/integrations");
  } catch (error) {
    $("key-error").textContent = error.status === 401 ? "That API key was refused." : error.message;
    return;
  }
  $("key-dialog").close();
  $("api-key").value = "";
  await loadAll();
}

// ---- server-sent events ----------------------------------------------------------------

// Yields the data of each event of a text/event-stream response as it arrives.
async function* sseData(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
    const blocks = buffer.split(/\r?\n\r?\n/);
    buffer = done ? "" : blocks.pop();
    for (const block of blocks) {
      const data = block.split(/\r?\n/).filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).replace(/^ /, ""));
      if (data.length) yield data.join("\n");
    }
    if (done) return;
  }
}

// ---- integrations ----------------------------------------------------------------------

function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

function listButton(label, detail, isCurrent, onClick) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.setAttribute("aria-current", String(isCurrent));
  const small = document.createElement("small");
  small.textContent = detail;
  button.append(small);
  button.addEventListener("click", onClick);
  item.append(button);
  return item;
}

async function loadIntegrations() {
  const items = await request("/api/v1/admin/integrations");
  $("integration-list").replaceChildren(...items.map((item) => listButton(
    item.id, `${item.method} · ${item.source}${item.streams ? " · streams" : ""}`,
    state.integration === item.id, () => openIntegration(item))));
}

function openIntegration(item) {
  state.integration = item.id;
  const doc = item.document;
  const req = doc.request || {};
  $("int-name").value = doc.id || "";
  $("int-description").value = doc.description || "";
  $("int-method").value = req.method || "POST";
  $("int-url").value = req.url || "";
  $("int-headers").value = Object.entries(req.headers || {}).map(([k, v]) => `${k}: ${v}`).join("\n");
  $("int-body").value = req.body === undefined || req.body === null ? "" : JSON.stringify(req.body, null, 2);
  const stream = doc.stream || null;
  $("int-stream").checked = stream !== null;
  $("int-stream-type").value = (stream && stream.type) || "sse";
  $("int-mapping").value = (stream && stream.mapping) || "openai";
  $("int-expression").value = (stream && stream.expression) || "";
  $("int-buffering").value = (stream && stream.buffering) || "none";
  $("int-name").readOnly = true;
  $("delete-integration").hidden = item.source !== "stored";
  $("integration-error").textContent = "";
  showStreamSettings();
  loadIntegrations().catch(showError);
}

function newIntegration() {
  state.integration = null;
  $("integration-form").reset();
  $("int-name").readOnly = false;
  $("delete-integration").hidden = true;
  $("test-panel").hidden = true;
  showStreamSettings();
  loadIntegrations().catch(showError);
}

function showStreamSettings() {
  $("stream-settings").hidden = !$("int-stream").checked;
  const isCustom = $("int-mapping").value === "custom";
  $("expression-field").hidden = !isCustom;
  if (isCustom) checkExpression();
}

let expressionCheck = 0;
async function checkExpression() {
  const input = $("int-expression");
  const status = $("int-expression-status");
  const ticket = ++expressionCheck;
  const expression = input.value;
  if (!expression.trim()) {
    input.setAttribute("aria-invalid", "true");
    status.className = "field-status bad";
    status.textContent = "An expression is required when the mapping is Custom.";
    return;
  }
  const answer = await request("/api/v1/admin/expressions/check", { body: { expression } });
  if (ticket !== expressionCheck) return; // a later keystroke has its own answer coming
  input.setAttribute("aria-invalid", String(!answer.ok));
  status.className = `field-status ${answer.ok ? "good" : "bad"}`;
  status.textContent = answer.ok ? "Valid expression"
    : answer.position === null || answer.position === undefined || answer.message.includes("position")
      ? answer.message : `${answer.message} (at position ${answer.position})`;
}

function parseHeaders(text) {
  const headers = {};
  for (const [number, line] of text.split("\n").entries()) {
    if (!line.trim()) continue;
    const at = line.indexOf(":");
    if (at < 1) throw new Error(`Headers, line ${number + 1}: expected "Name: value"`);
    headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return headers;
}

function integrationDocument() {
  const request = { method: $("int-method").value, url: $("int-url").value.trim() };
  const headers = parseHeaders($("int-headers").value);
  if (Object.keys(headers).length) request.headers = headers;
  const body = $("int-body").value.trim();
  if (body) {
    try { request.body = JSON.parse(body); } catch (error) { throw new Error(`Body: not JSON (${error.message})`); }
  }
  const doc = { id: $("int-name").value.trim(), request };
  const description = $("int-description").value.trim();
  if (description) doc.description = description;
  if ($("int-stream").checked) {
    doc.stream = {
      type: $("int-stream-type").value,
      mapping: $("int-mapping").value,
      buffering: $("int-buffering").value,
    };
    if (doc.stream.mapping === "custom") doc.stream.expression = $("int-expression").value;
  }
  return doc;
}

async function saveIntegration(event) {
  event.preventDefault();
  $("integration-error").textContent = "";
  try {
    const doc = integrationDocument();
    const saved = state.integration
      ? await request(`/api/v1/admin/integrations/${encodeURIComponent(state.integration)}`, { method: "PUT", body: doc })
      : await request("/api/v1/admin/integrations", { method: "POST", body: doc });
    notice(`Saved integration ${saved.id}.`);
    openIntegration(saved);
  } catch (error) {
    $("integration-error").textContent = error.message;
  }
}

async function deleteIntegration() {
  if (!state.integration || !confirm(`Delete integration ${state.integration}?`)) return;
  await request(`/api/v1/admin/integrations/${encodeURIComponent(state.integration)}`, { method: "DELETE" });
  notice(`Deleted integration ${state.integration}.`);
  newIntegration();
}

async function testIntegration() {
  $("integration-error").textContent = "";
  const panel = $("test-panel");
  panel.hidden = false;
  $("raw-chunks").replaceChildren();
  $("bot-response").replaceChildren();
  $("final-chunks").textContent = "";
  $("test-status").textContent = "Running…";
  let doc;
  try { doc = integrationDocument(); } catch (error) { $("integration-error").textContent = error.message; return; }
  if (!doc.id) doc.id = "test";
  try {
    const response = await fetch("/api/v1/admin/integrations/test", {
      method: "POST",
      headers: authHeaders({ "Content-Type": "application/json" }),
      body: JSON.stringify({ integration: doc, question: $("test-question").value }),
    });
    await checked(response);
    for await (const data of sseData(response)) showTestEvent(JSON.parse(data));
  } catch (error) {
    $("test-status").textContent = "";
    $("integration-error").textContent = error.message;
  }
}

function showTestEvent(event) {
  if (event.type === "raw") {
    const item = document.createElement("li");
    item.textContent = typeof event.chunk === "string" ? event.chunk : JSON.stringify(event.chunk);
    $("raw-chunks").append(item);
  } else if (event.type === "piece") {
    const span = document.createElement("span");
    span.className = "piece";
    span.textContent = event.text;
    $("bot-response").append(span);
  } else if (event.type === "done") {
    $("final-chunks").textContent = JSON.stringify(event.chunks, null, 2);
    const status = event.status === null ? "no response" : `HTTP ${event.status}`;
    $("test-status").textContent = event.error
      ? `Failed (${status}): ${event.error.code}: ${event.error.message}`
      : `Done (${status}), ${event.chunks.length} chunks, ${event.text.length} characters.`;
  }
}

// ---- flows -----------------------------------------------------------------------------

async function loadFlows() {
  const flows = await request("/api/v1/admin/flows");
  $("flow-list").replaceChildren(...flows.map((flow) => listButton(
    flow.name, `${flow.id} · ${flow.source}`, state.flow && state.flow.id === flow.id,
    () => openFlow(flow))));
  const select = $("chat-flow");
  const chosen = select.value;
  select.replaceChildren(new Option("All flows", ""), ...flows.map((f) => new Option(f.name, f.id)));
  select.value = chosen;
  return flows;
}

function openFlow(flow) {
  state.flow = flow;
  $("flow-format").value = "yaml";
  $("flow-text").value = flow.yaml;
  resetPlayground();
  validateFlow();
  loadFlows().catch(showError);
}

function newFlow() {
  state.flow = null;
  $("flow-format").value = "yaml";
  $("flow-text").value = "id: my-flow\nname: My flow\nnodes:\n  - id: hello\n    type: say\n    text: Hello!\n";
  resetPlayground();
  validateFlow();
  loadFlows().catch(showError);
}

function drawGutter(badLines = []) {
  const count = $("flow-text").value.split("\n").length;
  const lines = [];
  for (let n = 1; n <= count; n++) {
    lines.push(badLines.includes(n) ? `<span class="bad" title="error">${n}</span>` : `${n}\n`);
  }
  $("flow-gutter").innerHTML = lines.join("");
}

let flowCheck = 0;
async function validateFlow() {
  const ticket = ++flowCheck;
  const body = { text: $("flow-text").value, format: $("flow-format").value };
  const answer = await request("/api/v1/admin/flows/validate", { body });
  if (ticket !== flowCheck) return null;
  const list = $("flow-errors");
  list.replaceChildren(...answer.errors.map((error) => {
    const item = document.createElement("li");
    const where = error.line ? `Line ${error.line}: ` : "";
    item.textContent = `${where}${error.field ? `${error.field}: ` : ""}${error.message}`;
    return item;
  }));
  $("flow-text").setAttribute("aria-invalid", String(!answer.ok));
  drawGutter(answer.errors.map((e) => e.line).filter(Boolean));
  state.flowDocument = answer.ok ? answer.document : null;
  return answer;
}

async function saveFlow(event) {
  event.preventDefault();
  const answer = await validateFlow();
  if (!answer || !answer.ok) return;
  const doc = answer.document;
  const body = { flowData: JSON.stringify(doc) };
  const isStored = state.flow && state.flow.source === "stored" && state.flow.id === doc.id;
  try {
    await (isStored
      ? request(`/api/v1/chatflows/${encodeURIComponent(doc.id)}`, { method: "PUT", body })
      : request("/api/v1/chatflows", { method: "POST", body }));
  } catch (error) {
    $("flow-errors").replaceChildren(Object.assign(document.createElement("li"), { textContent: error.message }));
    return;
  }
  const flows = await loadFlows();
  const saved = flows.find((f) => f.id === doc.id);
  if (saved) state.flow = saved;
  // Announced last: once "Saved" shows, the playground can already use the flow.
  notice(`Saved flow ${doc.id}.`);
}

function switchFormat() {
  if ($("flow-format").value === "json" && state.flowDocument) {
    $("flow-text").value = JSON.stringify(state.flowDocument, null, 2);
  }
  validateFlow();
}

function resetPlayground() {
  state.chatId = null;
  $("playground-messages").replaceChildren();
}

function addBubble(role, text) {
  const item = document.createElement("li");
  item.className = role;
  item.textContent = text;
  $("playground-messages").append(item);
  return item;
}

async function sendPlayground(event) {
  event.preventDefault();
  const flowId = state.flow ? state.flow.id : null;
  const question = $("playground-input").value;
  if (!flowId) { notice("Open or save a flow first."); return; }
  $("playground-input").value = "";
  addBubble("user", question);
  const bubble = addBubble("bot", "");
  const body = { question, streaming: true, ...(state.chatId ? { chatId: state.chatId } : {}) };
  try {
    const response = await fetch(`/api/v1/prediction/${encodeURIComponent(flowId)}`, {
      method: "POST", headers: authHeaders({ "Content-Type": "application/json" }), body: JSON.stringify(body),
    });
    const checkedResponse = await checked(response);
    if (!(checkedResponse instanceof Response)) { bubble.textContent = checkedResponse.text; state.chatId = checkedResponse.chatId; return; }
    for await (const data of sseData(response)) {
      const message = JSON.parse(data);
      if (message.event === "token") bubble.textContent += message.data;
      else if (message.event === "metadata") state.chatId = message.data.chatId;
      else if (message.event === "error") bubble.textContent += `\n[error] ${message.data}`;
    }
  } catch (error) {
    bubble.textContent = `[error] ${error.message}`;
  }
}

// ---- chats -----------------------------------------------------------------------------

async function loadChats() {
  const flowId = $("chat-flow").value;
  const chats = await request(`/api/v1/admin/chats${flowId ? `?flowId=${encodeURIComponent(flowId)}` : ""}`);
  $("chat-list").replaceChildren(...chats.map((chat) => listButton(
    chat.id, `${chat.flowId || "no flow"} · ${new Date(chat.createdAt).toLocaleString()}`,
    false, () => openChat(chat))));
}

function cell(text, className = "") {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

const ms = (value) => (value === null || value === undefined ? "–" : `${Math.round(value)} ms`);

async function openChat(chat) {
  $("chat-title").textContent = `Messages of ${chat.id}`;
  const messages = await request(`/api/v1/admin/chats/${encodeURIComponent(chat.id)}/messages`);
  $("chat-messages").tBodies[0].replaceChildren(...messages.map((m) => {
    const row = document.createElement("tr");
    const status = m.error ? `${m.status}: ${m.error}` : m.status;
    row.append(cell(m.role), cell(m.content, "content"), cell(status, `status-${m.status}`),
      cell(ms(m.ttftMs)), cell(ms(m.durationMs)), cell(m.usage ? JSON.stringify(m.usage) : "–"),
      cell(new Date(m.createdAt).toLocaleString()));
    return row;
  }));
}

// ---- wiring ----------------------------------------------------------------------------

function showError(error) { notice(error.message); }

function showTab(name) {
  for (const tab of document.querySelectorAll(".tab")) tab.setAttribute("aria-pressed", String(tab.dataset.tab === name));
  for (const panel of document.querySelectorAll(".panel")) panel.hidden = panel.id !== name;
  if (name === "chats") loadChats().catch(showError);
}

async function loadAll() {
  await Promise.all([loadIntegrations(), loadFlows()]);
  document.body.dataset.ready = "true";
}

function wire() {
  $("key-form").addEventListener("submit", useKey);
  $("sign-out").addEventListener("click", () => askForKey());
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => showTab(tab.dataset.tab));
  $("int-stream").addEventListener("change", showStreamSettings);
  $("int-mapping").addEventListener("change", showStreamSettings);
  $("int-expression").addEventListener("input", debounce(() => checkExpression().catch(showError), 150));
  $("integration-form").addEventListener("submit", saveIntegration);
  $("new-integration").addEventListener("click", newIntegration);
  $("delete-integration").addEventListener("click", () => deleteIntegration().catch(showError));
  $("test-integration").addEventListener("click", testIntegration);
  $("flow-text").addEventListener("input", debounce(() => validateFlow().catch(showError), 250));
  $("flow-text").addEventListener("scroll", () => { $("flow-gutter").scrollTop = $("flow-text").scrollTop; });
  $("flow-format").addEventListener("change", switchFormat);
  $("flow-form").addEventListener("submit", (e) => saveFlow(e).catch(showError));
  $("new-flow").addEventListener("click", newFlow);
  $("playground-form").addEventListener("submit", sendPlayground);
  $("playground-reset").addEventListener("click", resetPlayground);
  $("chat-flow").addEventListener("change", () => loadChats().catch(showError));
  $("delete-integration").hidden = true;
  drawGutter();
  if (sessionStorage.getItem(KEY_NAME)) loadAll().catch(showError);
  else askForKey();
}

document.addEventListener("DOMContentLoaded", wire);
