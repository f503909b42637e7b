/* The ticket page's live QR (a rotating QR ticket, docs/pages.md#the-live-qr): draws the code of each 15-second
   step in the page, with no network (an attendee at a venue often has no signal), and counts down to the next.
   It reads only what the card carries: the ticket's signed bytes and its ticket key (never the door secret).
   Without WebCrypto (a page served over plain http to a non-local host) it reloads the page for each new code,
   as the page does without JavaScript. */
import {expiresAtMs, liveText, stepAt} from "./rotating-code.js";
import qrcode from "../vendor/qrcode-generator/qrcode.js";

const CELL = 8, QUIET = 4;  // pixels per module and quiet-zone modules, as the server's PNG (error correction M)

function bytesOf(base64) {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

function pngOf(text) {
  const code = qrcode(0, "M");
  code.addData(text, "Alphanumeric");
  code.make();
  const modules = code.getModuleCount(), size = (modules + 2 * QUIET) * CELL;
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  const ink = canvas.getContext("2d");
  ink.fillStyle = "#ffffff";
  ink.fillRect(0, 0, size, size);
  ink.fillStyle = "#000000";
  for (let row = 0; row < modules; row += 1) {
    for (let col = 0; col < modules; col += 1) {
      if (code.isDark(row, col)) { ink.fillRect((col + QUIET) * CELL, (row + QUIET) * CELL, CELL, CELL); }
    }
  }
  return canvas.toDataURL("image/png");
}

function mount(holder) {
  const image = holder.querySelector("img.qr");
  const countdown = holder.querySelector("[data-live-countdown]");
  const template = holder.getAttribute("data-countdown-text");
  const signed = bytesOf(holder.getAttribute("data-signed"));
  const key = bytesOf(holder.getAttribute("data-key"));
  let shown = Number(holder.getAttribute("data-step"));
  let drawing = false;

  async function tick() {
    const now = Date.now(), step = stepAt(now);
    countdown.textContent = template.replace("{s}", String(Math.max(1, Math.ceil((expiresAtMs(step) - now) / 1000))));
    if (step === shown || drawing) { return; }
    drawing = true;
    try {
      image.src = pngOf(await liveText(signed, key, now));
      shown = step;
      holder.setAttribute("data-step", String(step));
    } finally {
      drawing = false;
    }
  }

  setInterval(tick, 1000);
  tick();
}

const holders = document.querySelectorAll("[data-live-qr]");
if (holders.length && !(globalThis.crypto && globalThis.crypto.subtle)) {
  const next = Math.min(...Array.from(holders, (h) => expiresAtMs(Number(h.getAttribute("data-step")))));
  setTimeout(() => location.reload(), Math.max(1000, next - Date.now()));
} else {
  holders.forEach(mount);
}
