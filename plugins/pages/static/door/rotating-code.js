/* The rotating QR's code (docs/tickets.md#rotating-qr), the one JavaScript copy: the ticket page draws its live
   code with it and the door scanner's verifier imports it. An ES module for browsers and Node 20 (WebCrypto's
   HMAC-SHA256, `globalThis.crypto.subtle`); no network, no storage, never holds a door secret it was not given.
   Python twin: core/services/rotating_qr.py; tests/test_rotating_qr.py holds both to the same vectors.

     ticket key = HMAC-SHA256(door secret, "boxoffice-rotating-qr:" + ticket id)
     step       = floor(unix seconds / 15)
     code       = HMAC-SHA256(ticket key, step as uint32 big-endian)[:5]
     QR text    = "BO2:" + base45(91 signed BO1 bytes | step (uint32 BE) | code) */

export const STEP_SECONDS = 15;
export const MAX_AGE_SECONDS = 60;
export const MAX_AHEAD_SECONDS = 15;
export const LIVE_PREFIX = "BO2:";
const TICKET_KEY_LABEL = "boxoffice-rotating-qr:";
const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

async function hmacSha256(keyBytes, message) {
  const key = await globalThis.crypto.subtle.importKey(
    "raw", keyBytes, {name: "HMAC", hash: "SHA-256"}, false, ["sign"]);
  return new Uint8Array(await globalThis.crypto.subtle.sign("HMAC", key, message));
}

/** The 15-second step a moment (milliseconds since the epoch) falls in. */
export function stepAt(nowMs) {
  return Math.floor(nowMs / 1000 / STEP_SECONDS);
}

/** When the code of `step` stops being shown (milliseconds since the epoch): the next step's start. */
export function expiresAtMs(step) {
  return (step + 1) * STEP_SECONDS * 1000;
}

/** Whether a door accepts a code of `step` at `nowMs`: begun at most 60 s ago, at most 15 s ahead. */
export function isFresh(step, nowMs) {
  const begins = step * STEP_SECONDS, now = nowMs / 1000;
  return now - begins <= MAX_AGE_SECONDS && begins - now <= MAX_AHEAD_SECONDS;
}

/** A ticket's key (32 bytes) from its event's door secret (bytes) and its id (ASCII text). */
export async function ticketKey(doorSecretBytes, ticketId) {
  return hmacSha256(doorSecretBytes, new TextEncoder().encode(TICKET_KEY_LABEL + ticketId));
}

function stepBytes(step) {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, step, false);
  return bytes;
}

/** The 5-byte code of `step` under a ticket key. */
export async function codeFor(ticketKeyBytes, step) {
  return (await hmacSha256(ticketKeyBytes, stepBytes(step))).slice(0, 5);
}

/** RFC 9285 base45 of `bytes` (two bytes -> three characters of the QR alphanumeric set). */
export function b45encode(bytes) {
  let out = "";
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    let n = bytes[i] * 256 + bytes[i + 1];
    const c = Math.floor(n / 2025); n %= 2025;
    out += B45[n % 45] + B45[Math.floor(n / 45)] + B45[c];
  }
  if (bytes.length % 2) {
    const n = bytes[bytes.length - 1];
    out += B45[n % 45] + B45[Math.floor(n / 45)];
  }
  return out;
}

/** The live QR text at `nowMs` of a ticket: its 91 signed bytes, the step and that step's code. */
export async function liveText(signedBytes, ticketKeyBytes, nowMs) {
  const step = stepAt(nowMs);
  const code = await codeFor(ticketKeyBytes, step);
  const payload = new Uint8Array(signedBytes.length + 9);
  payload.set(signedBytes, 0);
  payload.set(stepBytes(step), signedBytes.length);
  payload.set(code, signedBytes.length + 4);
  return LIVE_PREFIX + b45encode(payload);
}
