// The web chat page: /chat/{flowId} (and / for the default flow), also shown inside the
// embeddable widget's frame (?embed=1&theme=dark&color=%23... ). Plain modules, no build.

import { API, ChatError } from "./api.js";
import { BotMessage, UserMessage } from "./message.js";

const base = new URL("../", import.meta.url);
const api = new API(base.href);
const params = new URLSearchParams(location.search);
const flowId = flowFromPath(location.pathname);
const store = storage();
const keys = { chat: `sluice:chat:${flowId}`, run: `sluice:run:${flowId}` };

const log = document.getElementById("log");
const form = document.getElementById("composer");
const input = document.getElementById("input");
const sendButton = document.getElementById("send");
const stopButton = document.getElementById("stop");
const newButton = document.getElementById("new-chat");
const closeButton = document.getElementById("close");

let chatId = store.get(keys.chat) || newChat();
let current = null;

function flowFromPath(path) {
  const prefix = `${base.pathname}chat/`;
  if (!path.startsWith(prefix)) return "default";
  return decodeURIComponent(path.slice(prefix.length).split("/")[0]) || "default";
}

function storage() {
  // localStorage may be missing or refused (sandboxed or third-party frames): keep going.
  const memory = new Map();
  return {
    get(key) {
      try {
        return localStorage.getItem(key);
      } catch {
        return memory.get(key) ?? null;
      }
    },
    set(key, value) {
      memory.set(key, value);
      try {
        if (value === null) localStorage.removeItem(key);
        else localStorage.setItem(key, value);
      } catch {
        // memory only
      }
    },
  };
}

function newChat() {
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs https
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  store.set(keys.chat, id);
  return id;
}

function append(message) {
  const isAtBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  log.append(message.node);
  document.body.classList.remove("empty");
  if (isAtBottom) scrollDown();
  return message;
}

function scrollDown() {
  log.scrollTop = log.scrollHeight;
}

function setBusy(isBusy) {
  document.body.dataset.state = isBusy ? "streaming" : "idle";
  sendButton.hidden = isBusy;
  stopButton.hidden = !isBusy;
  stopButton.disabled = false;
}

function handle(turn, { event, data }) {
  const message = turn.message;
  const isAtBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  if (event === "token") message.addText(data);
  else if (event === "status") message.setActivity(String(data));
  else if (event === "toolStart") message.startTool(String(data?.tool));
  else if (event === "toolEnd") message.endTool(String(data?.tool), data?.error);
  else if (event === "usedTools") message.setTools(data);
  else if (event === "sourceDocuments") message.setSources(data);
  else if (event === "error") [turn.status, turn.error] = ["error", String(data)];
  else if (event === "abort") turn.status = "aborted";
  else if (event === "whole") showWhole(message, data);
  if (isAtBottom) scrollDown();
}

function showWhole(message, body) {
  message.setText(String(body?.text ?? ""));
  message.setTools(body?.usedTools);
  message.setSources(body?.sourceDocuments);
}

async function send(question) {
  if (current || !question.trim()) return;
  input.value = "";
  resize();
  append(new UserMessage(question));
  const turn = { message: append(new BotMessage()), controller: new AbortController() };
  turn.runId = null;
  current = turn;
  setBusy(true);
  try {
    await api.ask({
      flowId,
      question,
      chatId,
      signal: turn.controller.signal,
      onRun: (runId) => started(turn, runId),
      onEvent: (event) => handle(turn, event),
      onRetry: () => turn.message.setActivity("Reconnecting…"),
    });
    turn.message.finish(turn.status ?? (turn.isStopping ? "aborted" : "complete"), turn.error);
  } catch (error) {
    failed(turn, error);
  } finally {
    done(turn);
  }
}

function started(turn, runId) {
  turn.runId = runId;
  store.set(keys.run, runId);
  if (turn.isStopping) api.abort(runId).catch(() => turn.controller.abort());
}

function failed(turn, error) {
  if (turn.isStopping) turn.message.finish("aborted");
  else turn.message.finish("error", error instanceof ChatError ? error.message : String(error));
}

function done(turn) {
  store.set(keys.run, null);
  if (current === turn) current = null;
  setBusy(false);
  input.focus();
}

async function stop() {
  const turn = current;
  if (!turn || turn.isStopping) return;
  turn.isStopping = true;
  stopButton.disabled = true;
  if (!turn.runId) {
    turn.controller.abort();
    return;
  }
  try {
    await api.abort(turn.runId);
  } catch {
    turn.controller.abort();
    return;
  }
  // The server ends the stream with "abort" then "end"; stop reading if that is slow.
  setTimeout(() => current === turn && turn.controller.abort(), 5000);
}

async function loadHistory() {
  let records;
  try {
    records = await api.history(flowId, chatId);
  } catch (error) {
    showError(error instanceof ChatError ? error.message : String(error));
    return;
  }
  let last = null;
  for (const record of records) {
    if (record.role === "userMessage") append(new UserMessage(String(record.content ?? "")));
    else last = append(restored(record));
  }
  scrollDown();
  const runId = store.get(keys.run);
  if (last && last.node.dataset.status === "streaming" && runId) await rejoin(last, runId);
  else store.set(keys.run, null);
}

function restored(record) {
  const message = new BotMessage();
  message.setText(String(record.content ?? ""));
  message.setTools((record.usedTools ?? []).map((tool) => ({ tool: tool.tool, error: tool.error })));
  message.setSources(record.sourceDocuments);
  if (record.status === "streaming") message.node.dataset.status = "streaming";
  else message.finish(record.status, record.error);
  return message;
}

async function rejoin(message, runId) {
  // The page was reloaded while an answer was streaming: replay the run from its start.
  const turn = { message, controller: new AbortController(), runId };
  current = turn;
  setBusy(true);
  message.setText("");
  try {
    await api.follow({
      runId,
      signal: turn.controller.signal,
      onEvent: (event) => handle(turn, event),
      onRetry: () => message.setActivity("Reconnecting…"),
    });
    message.finish(turn.status ?? "complete", turn.error);
  } catch (error) {
    failed(turn, error);
  } finally {
    done(turn);
  }
}

function showError(text) {
  const message = append(new BotMessage());
  message.finish("error", text);
}

function startOver() {
  if (current) current.controller.abort();
  chatId = newChat();
  store.set(keys.run, null);
  log.replaceChildren();
  document.body.classList.add("empty");
  input.focus();
}

function resize() {
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
}

function applyOptions() {
  const theme = params.get("theme");
  if (theme === "dark" || theme === "light") document.documentElement.dataset.theme = theme;
  const color = params.get("color");
  if (color && CSS.supports("color", color)) {
    document.documentElement.style.setProperty("--accent", color);
  }
  const title = params.get("title") || (flowId === "default" ? "Sluice" : flowId);
  document.getElementById("title").textContent = title;
  document.title = `${title} · chat`;
  if (params.get("embed") === "1") {
    document.body.classList.add("embedded");
    closeButton.hidden = false;
  }
}

function closeEmbed() {
  window.parent.postMessage({ type: "sluice:close" }, "*");
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  send(input.value);
});
input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    send(input.value);
  }
});
input.addEventListener("input", resize);
stopButton.addEventListener("click", stop);
newButton.addEventListener("click", startOver);
closeButton.addEventListener("click", closeEmbed);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && current) stop();
  else if (event.key === "Escape" && document.body.classList.contains("embedded")) closeEmbed();
});

applyOptions();
setBusy(false);
loadHistory();
