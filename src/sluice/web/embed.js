// The embeddable widget: <script src="https://sluice.example/embed.js" data-flow="support"
// data-url="https://sluice.example" data-theme="dark" data-color="#0a7" defer></script>
// puts a chat button on the page; it opens the web chat of that flow in a frame (the same
// page as /chat/{flow}, so the same behaviour, and no CORS: the frame is the server's).
// Styles are set through element.style, so a host page's CSP on <style> does not matter.
(() => {
  const script = document.currentScript;
  if (!script || script.dataset.sluiceLoaded) return;
  script.dataset.sluiceLoaded = "1";
  const data = script.dataset;
  const base = new URL(data.url || new URL(".", script.src).href, location.href);
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  const flow = data.flow || "default";
  const color = data.color && CSS.supports("color", data.color) ? data.color : "#2563eb";
  const isLeft = data.position === "left";
  const side = isLeft ? "left" : "right";

  const query = new URLSearchParams({ embed: "1" });
  if (data.theme) query.set("theme", data.theme);
  if (data.color) query.set("color", data.color);
  if (data.title) query.set("title", data.title);
  const src = new URL(`chat/${encodeURIComponent(flow)}?${query}`, base).href;

  const button = document.createElement("button");
  button.type = "button";
  button.setAttribute("aria-label", data.label || "Open chat");
  button.setAttribute("aria-expanded", "false");
  button.dataset.sluice = "launcher";
  button.append(icon());
  Object.assign(button.style, {
    position: "fixed", bottom: "20px", [side]: "20px", zIndex: "2147483000",
    width: "56px", height: "56px", borderRadius: "50%", border: "0", cursor: "pointer",
    background: color, color: "#fff", padding: "0", display: "grid", placeItems: "center",
    boxShadow: "0 4px 16px rgba(0,0,0,.25)",
  });

  function icon() {
    // A speech bubble drawn in SVG: emoji fonts are not on every machine.
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "28");
    svg.setAttribute("height", "28");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
    svg.append(path);
    return svg;
  }

  let frame = null;
  const panel = document.createElement("div");
  panel.dataset.sluice = "panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", data.title || "Chat");
  panel.hidden = true;

  function layout() {
    const isPhone = window.matchMedia("(max-width: 520px)").matches;
    Object.assign(panel.style, {
      position: "fixed", zIndex: "2147483001", overflow: "hidden", background: "#fff",
      boxShadow: "0 8px 32px rgba(0,0,0,.3)",
      ...(isPhone
        ? { inset: "0", width: "100%", height: "100%", borderRadius: "0" }
        : { bottom: "88px", [side]: "20px", width: "380px", height: "min(620px, calc(100vh - 110px))", borderRadius: "16px" }),
    });
  }

  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.src = src;
      frame.title = data.title || "Chat";
      frame.allow = "clipboard-write";
      Object.assign(frame.style, { border: "0", width: "100%", height: "100%", display: "block" });
      panel.append(frame);
    }
    layout();
    panel.hidden = false;
    panel.style.display = "block";
    button.setAttribute("aria-expanded", "true");
    button.setAttribute("aria-label", "Close chat");
    frame.focus();
  }

  function close() {
    panel.hidden = true;
    panel.style.display = "none";
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-label", data.label || "Open chat");
    button.focus();
  }

  button.addEventListener("click", () => (panel.hidden ? open() : close()));
  window.addEventListener("message", (event) => {
    if (frame && event.source === frame.contentWindow && event.data?.type === "sluice:close") close();
  });
  window.addEventListener("resize", () => panel.hidden || layout());

  function mount() {
    panel.style.display = "none";
    document.body.append(panel, button);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });
})();
