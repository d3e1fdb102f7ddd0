// One message in the conversation: the user's text, or the bot's answer as it streams
// (typing indicator, progress notices, Markdown, tools, sources, how it ended).

import { renderMarkdown } from "./markdown.js";

export class UserMessage {
  constructor(text) {
    this.node = create("article", "message user");
    this.node.setAttribute("aria-label", "You said");
    const body = create("div", "bubble");
    body.textContent = text;
    this.node.append(body);
  }
}

export class BotMessage {
  constructor() {
    this.text = "";
    this.tools = new Map();
    this.node = create("article", "message bot");
    this.node.setAttribute("aria-label", "Assistant said");
    this.node.setAttribute("aria-busy", "true");
    this.bubble = create("div", "bubble");
    this.activity = create("p", "activity");
    this.activity.setAttribute("role", "status");
    this.activity.hidden = true;
    this.content = create("div", "content markdown");
    this.typing = create("div", "typing");
    this.typing.setAttribute("role", "status");
    this.typing.setAttribute("aria-label", "The assistant is typing");
    this.typing.append(create("span"), create("span"), create("span"));
    this.toolList = create("ul", "tools");
    this.toolList.setAttribute("aria-label", "Tools used");
    this.toolList.hidden = true;
    this.sources = create("section", "sources");
    this.sources.hidden = true;
    this.footer = create("p", "footer");
    this.footer.hidden = true;
    this.bubble.append(this.activity, this.toolList, this.content, this.typing);
    this.node.append(this.bubble, this.sources, this.footer);
  }

  /** Add a piece of the answer (the whole text is rendered again: Markdown spans pieces). */
  addText(piece) {
    if (!piece) return;
    this.text += piece;
    this.typing.hidden = true;
    this.activity.hidden = true;
    this.content.replaceChildren(renderMarkdown(this.text));
  }

  setText(text) {
    this.text = "";
    this.content.replaceChildren();
    this.addText(text);
  }

  /** A progress notice ("Searching…") shown until the answer goes on. */
  setActivity(text) {
    this.activity.textContent = text;
    this.activity.hidden = !text;
  }

  startTool(name) {
    const item = create("li", "tool running");
    item.textContent = name;
    item.setAttribute("aria-label", `${name}: running`);
    this.tools.set(name, item);
    this.toolList.append(item);
    this.toolList.hidden = false;
  }

  endTool(name, error) {
    const item = this.tools.get(name) ?? (this.startTool(name), this.tools.get(name));
    item.className = error ? "tool failed" : "tool done";
    item.setAttribute("aria-label", `${name}: ${error ? `failed (${error})` : "done"}`);
    item.title = error ?? "";
  }

  /** The tools as the final message reports them: [{tool, error?}]. */
  setTools(tools) {
    for (const tool of tools ?? []) this.endTool(tool.tool, tool.error);
  }

  /** Sources listed under the answer: [{pageContent, metadata: {title, source, url}}]. */
  setSources(documents) {
    if (!Array.isArray(documents) || documents.length === 0) return;
    const heading = create("h2", "sources-title");
    heading.textContent = "Sources";
    const list = create("ol");
    for (const document of documents) list.append(sourceItem(document));
    this.sources.replaceChildren(heading, list);
    this.sources.hidden = false;
  }

  /** The answer ended: "complete", "aborted" (stopped) or "error" (with a message). */
  finish(status, error) {
    this.typing.hidden = true;
    this.activity.hidden = true;
    this.node.setAttribute("aria-busy", "false");
    this.node.dataset.status = status;
    if (status === "aborted") this.note("Stopped", "stopped");
    if (status === "error") this.showError(error || "Something went wrong.");
  }

  showError(message) {
    const alert = create("p", "error");
    alert.setAttribute("role", "alert");
    alert.textContent = message;
    this.bubble.append(alert);
  }

  note(text, kind) {
    this.footer.textContent = text;
    this.footer.className = `footer ${kind}`;
    this.footer.hidden = false;
  }
}

function sourceItem(document) {
  const metadata = document?.metadata ?? {};
  const item = create("li");
  const title = String(metadata.title || metadata.source || "Source");
  const url = safeURL(metadata.url ?? metadata.source);
  const label = url ? create("a") : create("span");
  label.textContent = title;
  if (url) {
    label.href = url;
    label.target = "_blank";
    label.rel = "noopener noreferrer nofollow";
  }
  item.append(label);
  if (metadata.source && metadata.source !== title) {
    const where = create("span", "source-path");
    where.textContent = ` (${metadata.source})`;
    item.append(where);
  }
  if (document?.pageContent) item.title = String(document.pageContent).slice(0, 300);
  return item;
}

function safeURL(value) {
  try {
    const url = new URL(String(value));
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

function create(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}
