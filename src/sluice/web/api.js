// The server's API as the chat uses it: ask a flow (a Flowise prediction stream with
// Sluice's progress messages), follow a run and resume it after a dropped connection
// from the last event id, abort it, read a chat's history.

import { SSEParser } from "./sse.js";

/** Waits before each attempt to resume a dropped stream, in milliseconds. */
export const RESUME_DELAYS_MS = [100, 250, 500, 1000, 2000, 4000, 8000];

/** A failure to show the user, in words. */
export class ChatError extends Error {}

export class API {
  /** @param {string} base the server's root URL, ending with "/". */
  constructor(base) {
    this.base = base;
  }

  url(path) {
    return new URL(path, this.base).href;
  }

  async isStreaming(flowId) {
    const body = await this.json(`api/v1/chatflows-streaming/${encodeURIComponent(flowId)}`);
    return body.isStreaming !== false;
  }

  async history(flowId, chatId) {
    const query = new URLSearchParams({ chatId });
    return this.json(`api/v1/chatmessage/${encodeURIComponent(flowId)}?${query}`);
  }

  async abort(runId) {
    await this.request(`api/v1/runs/${encodeURIComponent(runId)}/abort`, { method: "POST" });
  }

  async json(path, init = {}) {
    const response = await this.request(path, init);
    return response.json();
  }

  async request(path, init = {}) {
    let response;
    try {
      response = await fetch(this.url(path), { cache: "no-store", ...init });
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw new ChatError("Could not reach the server. Check your connection and try again.");
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  /**
   * Ask ``flowId`` and stream the answer: ``onRun(runId)`` once the run exists, then
   * ``onEvent({event, data})`` for each message, in order, each exactly once across
   * reconnects (a group of messages may repeat after a resume, never a token).
   * Resolves when the stream has ended; rejects with a ChatError it cannot recover from.
   */
  async ask({ flowId, question, chatId, signal, onRun, onEvent, onRetry }) {
    const response = await this.request(
      `api/v1/prediction/${encodeURIComponent(flowId)}?events=sluice`,
      {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify({ question, streaming: true, chatId }),
        signal,
      },
    );
    const runId = response.headers.get("X-Run-Id");
    if (runId) onRun(runId);
    if (!(response.headers.get("Content-Type") ?? "").startsWith("text/event-stream")) {
      const body = await response.json();
      onEvent({ event: "whole", data: body });
      return;
    }
    await this.follow({ runId, response, signal, onEvent, onRetry });
  }

  /** Follow a run from ``lastEventId`` (or go on reading ``response``), resuming on drops. */
  async follow({ runId, response = null, lastEventId = "", signal, onEvent, onRetry }) {
    const parser = new SSEParser(lastEventId);
    let attempt = 0;
    let current = response;
    for (;;) {
      if (current) {
        const outcome = await pump(current, parser, onEvent, signal);
        if (outcome.hasEnded) return;
        if (outcome.count > 0) attempt = 0;
      }
      if (!runId || attempt >= RESUME_DELAYS_MS.length) {
        throw new ChatError("The connection was lost and the answer could not be resumed.");
      }
      onRetry?.(attempt);
      await delay(RESUME_DELAYS_MS[attempt++], signal);
      current = await this.resume(runId, parser, signal);
    }
  }

  async resume(runId, parser, signal) {
    const headers = parser.lastEventId ? { "Last-Event-ID": parser.lastEventId } : {};
    let response;
    try {
      response = await fetch(this.url(`api/v1/runs/${encodeURIComponent(runId)}/events`), {
        headers,
        signal,
        cache: "no-store",
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      return null; // still offline: try again after the next delay
    }
    if (response.status === 404) throw await errorOf(response);
    if (!response.ok) return null;
    parser.reset();
    return response;
  }
}

async function pump(response, parser, onEvent, signal) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let count = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return { hasEnded: false, count };
      for (const raw of parser.push(decoder.decode(value, { stream: true }))) {
        const message = parse(raw.data);
        if (!message) continue;
        count += 1;
        onEvent(message);
        if (message.event === "end") return { hasEnded: true, count };
      }
    }
  } catch (error) {
    if (signal?.aborted) throw error;
    return { hasEnded: false, count }; // the connection dropped: the caller resumes
  } finally {
    reader.cancel().catch(() => {});
  }
}

function parse(data) {
  try {
    const message = JSON.parse(data);
    return message && typeof message.event === "string" ? message : null;
  } catch {
    return null;
  }
}

function delay(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

async function errorOf(response) {
  let message = `The server answered ${response.status}.`;
  try {
    const body = await response.json();
    if (body?.error?.message) message = body.error.message;
  } catch {
    // not JSON: keep the status line
  }
  return new ChatError(message);
}
