// An incremental event-stream parser (the WHATWG "interpret an event stream" rules), for
// streams read with fetch: EventSource cannot POST, and it cannot be told where to resume.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

export class SSEParser {
  /** @param {string} lastEventId where a resumed stream starts ("" for the beginning). */
  constructor(lastEventId = "") {
    this.lastEventId = lastEventId;
    this.reset();
  }

  /** Forget a half-read event (the connection that carried it is gone). */
  reset() {
    this.pending = "";
    this.data = [];
    this.hasData = false;
    this.eventId = this.lastEventId;
    this.isFirst = true;
  }

  /** Feed decoded text; returns the events it completed, as {id, data}. */
  push(text) {
    let buffer = this.pending + text;
    if (this.isFirst && buffer.length > 0) {
      this.isFirst = false;
      if (buffer.charCodeAt(0) === 0xfeff) buffer = buffer.slice(1);
    }
    const events = [];
    let start = 0;
    for (;;) {
      const cr = buffer.indexOf("\r", start);
      const lf = buffer.indexOf("\n", start);
      if (cr < 0 && lf < 0) break;
      let end = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
      // A CR at the very end may be the first half of a CRLF: wait for the next read.
      if (end === cr && end === buffer.length - 1) break;
      const line = buffer.slice(start, end);
      start = end + (end === cr && buffer[end + 1] === "\n" ? 2 : 1);
      const event = this.line(line);
      if (event) events.push(event);
    }
    this.pending = buffer.slice(start);
    return events;
  }

  line(line) {
    if (line === "") return this.dispatch();
    if (line[0] === ":") return null;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value[0] === " ") value = value.slice(1);
    if (field === "data") {
      this.data.push(value);
      this.hasData = true;
    } else if (field === "id" && !value.includes("\0")) {
      this.eventId = value;
    }
    return null; // "event", "retry" and Flowise's "message" lines change nothing here
  }

  dispatch() {
    this.lastEventId = this.eventId;
    if (!this.hasData) return null;
    const event = { id: this.lastEventId, data: this.data.join("\n") };
    this.data = [];
    this.hasData = false;
    return event;
  }
}
