// A small Markdown renderer that builds DOM nodes and never parses HTML: every character of
// the model's text ends up in a text node or an attribute we set, so output such as
// "<script>" or "<img onerror=…>" is shown as text. Links keep http(s) and mailto only.
// Covers what chat models write: paragraphs, line breaks, headings, fenced code, lists
// (nested by indentation), block quotes, rules, inline code, emphasis, strike, links.

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const SAFE_SCHEMES = new Set(["http:", "https:", "mailto:"]);

/** The rendered text as a fragment, ready to replace a message's content. */
export function renderMarkdown(text) {
  const fragment = document.createDocumentFragment();
  renderBlocks(text.replace(/\r\n?/g, "\n").split("\n"), fragment);
  return fragment;
}

function renderBlocks(lines, parent) {
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === "") {
      i += 1;
    } else if (FENCE.test(line)) {
      i = codeBlock(lines, i, parent);
    } else if (HEADING.test(line)) {
      const [, hashes, title] = HEADING.exec(line);
      parent.append(element(`h${hashes.length}`, title));
      i += 1;
    } else if (RULE.test(line)) {
      parent.append(document.createElement("hr"));
      i += 1;
    } else if (QUOTE.test(line)) {
      i = quote(lines, i, parent);
    } else if (ITEM.test(line)) {
      i = list(lines, i, parent);
    } else {
      i = paragraph(lines, i, parent);
    }
  }
}

function codeBlock(lines, start, parent) {
  const [, fence, language] = FENCE.exec(lines[start]);
  const body = [];
  let i = start + 1;
  // An unclosed fence runs to the end: while streaming, the rest has not arrived yet.
  while (i < lines.length && !isClosingFence(lines[i], fence)) body.push(lines[i++]);
  const pre = document.createElement("pre");
  const code = document.createElement("code");
  if (language) code.dataset.language = language;
  code.textContent = body.join("\n");
  pre.append(code);
  parent.append(pre);
  return i + 1;
}

function isClosingFence(line, fence) {
  const trimmed = line.trim();
  return trimmed.length >= fence.length && trimmed === fence[0].repeat(trimmed.length);
}

function quote(lines, start, parent) {
  const inner = [];
  let i = start;
  while (i < lines.length && QUOTE.test(lines[i])) inner.push(QUOTE.exec(lines[i++])[1]);
  const blockquote = document.createElement("blockquote");
  renderBlocks(inner, blockquote);
  parent.append(blockquote);
  return i;
}

function list(lines, start, parent) {
  const [, indent, marker] = ITEM.exec(lines[start]);
  const isOrdered = /\d/.test(marker[0]);
  const node = document.createElement(isOrdered ? "ol" : "ul");
  if (isOrdered && parseInt(marker, 10) !== 1) node.start = parseInt(marker, 10);
  let i = start;
  while (i < lines.length) {
    const match = ITEM.exec(lines[i]);
    if (!match || match[1].length !== indent.length || /\d/.test(match[2][0]) !== isOrdered) break;
    const body = [match[3]];
    i += 1;
    // An item goes on over lines indented past its marker (nested lists, wrapped text).
    while (i < lines.length && lines[i].trim() !== "" && isInside(lines[i], indent.length)) {
      body.push(lines[i].slice(Math.min(indent.length + 2, leading(lines[i]))));
      i += 1;
    }
    node.append(listItem(body));
    if (i < lines.length && lines[i].trim() === "" && nextItemFollows(lines, i, indent)) i += 1;
  }
  parent.append(node);
  return i;
}

function isInside(line, indent) {
  return leading(line) > indent || (!ITEM.test(line) && !FENCE.test(line) && leading(line) > 0);
}

function nextItemFollows(lines, i, indent) {
  let j = i;
  while (j < lines.length && lines[j].trim() === "") j += 1;
  const match = j < lines.length ? ITEM.exec(lines[j]) : null;
  return match !== null && match[1].length === indent.length;
}

function listItem(body) {
  const item = document.createElement("li");
  const first = body.findIndex((line, index) => index > 0 && (ITEM.test(line) || FENCE.test(line)));
  const text = first < 0 ? body : body.slice(0, first);
  appendInline(item, text.join("\n"));
  if (first >= 0) renderBlocks(body.slice(first), item);
  return item;
}

function leading(line) {
  return line.length - line.trimStart().length;
}

function paragraph(lines, start, parent) {
  const text = [];
  let i = start;
  while (i < lines.length && lines[i].trim() !== "" && !startsBlock(lines[i])) {
    text.push(lines[i++].trim());
  }
  const p = document.createElement("p");
  appendInline(p, text.join("\n"));
  parent.append(p);
  return i;
}

function startsBlock(line) {
  return (
    FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || ITEM.test(line)
  );
}

function element(tag, text) {
  const node = document.createElement(tag);
  appendInline(node, text);
  return node;
}

// Inline spans: code, links, emphasis, strike, escapes and line breaks. The first
// opening marker found wins; a marker with no closing partner is text.
const INLINE = /(`+)|\[|(\*\*|__)|(~~)|(\*|_)|\\([!-/:-@[-`{-~])|\n|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])/g;

function appendInline(parent, text) {
  const pattern = new RegExp(INLINE); // its own lastIndex: spans nest by recursion
  let last = 0;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    const span = inlineSpan(text, match);
    if (!span) continue;
    appendText(parent, text.slice(last, match.index));
    parent.append(span.node);
    last = span.end;
    pattern.lastIndex = span.end;
  }
  appendText(parent, text.slice(last));
}

function inlineSpan(text, match) {
  const [token, ticks, strong, strike, emphasis, escaped, url] = match;
  const at = match.index;
  const after = at + token.length;
  if (ticks) return closed(text, after, ticks, "code", (node, inner) => (node.textContent = inner));
  if (escaped) return { node: document.createTextNode(escaped), end: after };
  if (token === "\n") return { node: document.createElement("br"), end: after };
  if (url) return { node: link(url, url), end: after };
  if (token === "[") return markdownLink(text, at);
  if (emphasis === "_" && /\w/.test(text[at - 1] ?? "")) return null; // snake_case words
  const marker = strong || strike || emphasis;
  const tag = strong ? "strong" : strike ? "del" : "em";
  if (/\s/.test(text[after] ?? " ")) return null;
  return closed(text, after, marker, tag, (node, inner) => appendInline(node, inner));
}

function closed(text, from, marker, tag, fill) {
  let end = text.indexOf(marker, from);
  while (end > from && marker.length === 1 && marker !== "`" && text[end + 1] === marker) {
    end = text.indexOf(marker, end + 2);
  }
  if (end <= from || (tag !== "code" && /\s/.test(text[end - 1]))) return null;
  const node = document.createElement(tag);
  fill(node, text.slice(from, end));
  return { node, end: end + marker.length };
}

function markdownLink(text, at) {
  const match = /^\[([^\]\n]+)\]\(\s*<?([^\s()<>]+)>?\s*\)/.exec(text.slice(at));
  if (!match) return null;
  const node = link(match[2], match[1]);
  return { node, end: at + match[0].length };
}

function link(href, label) {
  let url = null;
  try {
    url = new URL(href);
  } catch {
    url = null;
  }
  if (!url || !SAFE_SCHEMES.has(url.protocol)) return document.createTextNode(label);
  const a = document.createElement("a");
  a.href = url.href;
  a.target = "_blank";
  a.rel = "noopener noreferrer nofollow";
  appendInline(a, label === href ? "" : label);
  if (label === href) a.textContent = label;
  return a;
}

function appendText(parent, text) {
  if (text) parent.append(document.createTextNode(text));
}
