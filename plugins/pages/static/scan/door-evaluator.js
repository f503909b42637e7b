/**
 * The door's rule table, run offline: decides a scanned text against an event's door bundle exactly as the
 * server does (GET /events/{event_id}/door-bundle; the table is `rules`, the server's `door_rules.as_json()`).
 *
 * It walks `rules.code`, then `rules.ticket` (and, for a parent event's ticket at one of its sessions, the
 * `rules.session` rule) in the table's order and calls the small check this module holds for each rule NAME
 * with that rule's params (like `_BROKEN` in core/services/door_rules.py). A name it does not know refuses the
 * scan (`unknown_rule`), never admits. Never changes the bundle: the device keeps its own admissions and
 * passes them as `localAdmissions`. Runs in the browser and in Node 20 (WebCrypto only); a rotating code's
 * time code is computed by the one JS copy of it, `../door/rotating-code.js`.
 */

import { codeFor, ticketKey } from "../door/rotating-code.js";

const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const BODY_BYTES = 27; // version, ticket uuid (16), event hash (8), secret version (uint16 BE)
const SIGNED_BYTES = BODY_BYTES + 64; // + Ed25519 signature
const ROTATING_BYTES = SIGNED_BYTES + 4 + 5; // + step (uint32 BE) + code (5 bytes)
const FORMATS = { "BO1:": SIGNED_BYTES, "BO2:": ROTATING_BYTES };

/** RFC 9285 base45 to bytes; null when the text is not base45. */
export function b45decode(text) {
  const values = [];
  for (const ch of text) {
    const value = B45.indexOf(ch);
    if (value < 0) return null;
    values.push(value);
  }
  if (values.length % 3 === 1) return null;
  const out = [];
  for (let i = 0; i < values.length; i += 3) {
    if (i + 2 < values.length) {
      const n = values[i] + values[i + 1] * 45 + values[i + 2] * 2025;
      if (n > 0xffff) return null;
      out.push(n >> 8, n & 0xff);
    } else {
      const n = values[i] + values[i + 1] * 45;
      if (n > 0xff) return null;
      out.push(n);
    }
  }
  return Uint8Array.from(out);
}

function fromBase64(text) {
  if (typeof atob === "function") return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  return Uint8Array.from(Buffer.from(text, "base64"));
}

function uuidOf(bytes) {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i += 1) diff |= a[i] ^ b[i];
  return diff === 0;
}

const subtle = () => globalThis.crypto.subtle;

/** The 8-byte event binding a signed code carries: SHA-256(event id)[:8] (`qr.event_hash`). */
export async function eventHash(eventId) {
  const digest = await subtle().digest("SHA-256", new TextEncoder().encode(eventId));
  return new Uint8Array(digest).slice(0, 8);
}

/** A signed (BO1) or rotating (BO2) code's parts, or null when the text is neither (format only, unverified). */
export function decodeSigned(text) {
  const prefix = typeof text === "string" ? text.slice(0, 4) : "";
  if (!(prefix in FORMATS) || text.length > 400) return null;
  const raw = b45decode(text.slice(4));
  if (raw === null || raw.length !== FORMATS[prefix] || raw[0] !== 1) return null;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return {
    format: prefix === "BO1:" ? "BO1" : "BO2",
    body: raw.slice(0, BODY_BYTES),
    signature: raw.slice(BODY_BYTES, SIGNED_BYTES),
    ticketId: uuidOf(raw.slice(1, 17)),
    eventHash: raw.slice(17, 25),
    secretVersion: view.getUint16(25, false),
    step: prefix === "BO2:" ? view.getUint32(SIGNED_BYTES, false) : null,
    code: prefix === "BO2:" ? raw.slice(SIGNED_BYTES + 4) : null,
  };
}

async function signatureValid(bundle, scanned) {
  const key = await subtle().importKey("raw", fromBase64(bundle.keys.publicKey.raw), { name: "Ed25519" }, false,
    ["verify"]);
  return subtle().verify("Ed25519", key, scanned.signature, scanned.body);
}

/** What a scanned text names, read once per scan (the code rules look at it): lazily verified. */
class Scan {
  constructor(bundle, text) {
    this.bundle = bundle;
    this.text = text;
    this.signed = decodeSigned(text);
    this.byId = new Map(bundle.tickets.map((t) => [t.id, t]));
    const code = typeof text === "string" ? text.trim() : "";
    this.pooled = this.signed ? null : bundle.tickets.find((t) => t.poolCode && t.poolCode === code) || null;
  }

  async verified() {
    if (this._verified === undefined) this._verified = this.signed !== null && (await signatureValid(this.bundle, this.signed));
    return this._verified;
  }

  /** The bundle's ticket the text names (null: none). */
  get ticket() {
    if (this.signed) return this.byId.get(this.signed.ticketId) || null;
    return this.pooled;
  }

  /** The events this bundle's tickets belong to (the event, and a session's parent). */
  async knownEventHashes() {
    const ids = [this.bundle.event.id, this.bundle.event.parentEventId].filter(Boolean);
    return Promise.all(ids.map(eventHash));
  }

  /** A valid signed code of the tenant for a ticket of another event than this bundle's (its wrong event). */
  async signedElsewhere() {
    if (!this.signed || this.ticket || !(await this.verified())) return false;
    const known = await this.knownEventHashes();
    return !known.some((hash) => sameBytes(hash, this.signed.eventHash));
  }
}

// --- the code rules, by name: true when the scanned text breaks the rule -----------------------------------

const CODE_CHECKS = {
  /** Not a ticket code of this organisation: not a signed format and no pool code; or a valid signed code of
   * this event (or its parent) whose ticket the bundle does not hold. */
  unknown: async (scan) => {
    if (!scan.signed) return scan.pooled === null;
    if (!(await scan.verified())) return false; // the signature decides first: `forged`
    return scan.ticket === null && !(await scan.signedElsewhere());
  },
  /** The signature is not the tenant's, the code was signed for another event than its ticket's, or a
   * rotating code's time code is not the ticket's (or cannot be checked without the door secret). */
  forged: async (scan) => {
    if (!scan.signed) return false;
    if (!(await scan.verified())) return true;
    const ticket = scan.ticket;
    if (ticket && !sameBytes(await eventHash(ticket.eventId), scan.signed.eventHash)) return true;
    if (scan.signed.format !== "BO2") return false;
    const secrets = scan.bundle.doorSecrets || {};
    const secret = ticket ? secrets[ticket.eventId] : scan.bundle.doorSecret;
    if (!secret) return true;
    const key = await ticketKey(fromBase64(secret), scan.signed.ticketId);
    return !sameBytes(await codeFor(key, scan.signed.step), scan.signed.code);
  },
  /** A rotating code older than `maxAgeSeconds` (or further ahead than `maxAheadSeconds`) at `nowMs`. */
  stale_code: async (scan, params, door) => {
    if (!scan.signed || scan.signed.format !== "BO2") return false;
    const age = door.nowMs / 1000 - scan.signed.step * params.stepSeconds;
    return age > params.maxAgeSeconds || age < -params.maxAheadSeconds;
  },
};

// --- the ticket rules, by name (door_rules._BROKEN): true when the ticket breaks the rule -----------------

function countOf(admissions, ticketId) {
  if (!admissions) return 0;
  const value = admissions instanceof Map ? admissions.get(ticketId) : admissions[ticketId];
  return Number(value) || 0;
}

const TICKET_CHECKS = {
  wrong_event: (ticket, door) => Boolean(door.eventId) && ticket.eventId !== door.eventId,
  live_code_required: (ticket, door, params) => door.staticCode && Boolean(ticket[params.typeField]),
  revoked: (ticket, door, params) => params.statuses.includes(ticket.status)
    || (door.secretVersion !== null && door.secretVersion !== ticket.secretVersion),
  not_activated: (ticket, door, params) => params.statuses.includes(ticket.status),
  scan_point_not_accepted: (ticket, door, params) => {
    const points = ticket.acceptedScanPoints || [];
    if (points.length === 0 || points.includes(door.scanPoint)) return false;
    return door.scanPoint !== null || params.unnamedPointRefusedBy.includes(door.purpose);
  },
  already_used: (ticket, door, params, scans) => {
    const limit = ticket.allowReentry ? ticket.reentryLimit : params.limitWithoutReentry;
    return limit !== null && limit !== undefined && scans >= limit;
  },
};

function refusal(rule, ticket, extra = {}) {
  return { admit: false, rule: rule.name, type: rule.type, message: rule.message, status: rule.status, ticket, ...extra };
}

function unknownRule(name, ticket) {
  return {
    admit: false, rule: name, type: "unknown_rule", status: 409, ticket,
    message: `This scanner does not know the door rule "${name}"; update it before admitting anyone.`,
  };
}

/** The first ticket rule of the table the ticket breaks (skipping `skip`), as a refusal; null when none. */
function firstBroken(rules, ticket, door, scans, skip = []) {
  for (const rule of rules.ticket) {
    if (skip.includes(rule.name)) continue;
    const check = TICKET_CHECKS[rule.name];
    if (!check) return unknownRule(rule.name, ticket);
    if (check(ticket, door, rule.params, scans)) return refusal(rule, ticket);
  }
  return null;
}

function alreadyUsedMessage(verdict) {
  const ticket = verdict.ticket;
  if (verdict.rule !== "already_used" || !ticket || !ticket.lastScannedAt) return verdict;
  const where = ticket.lastScanPoint ? ` at ${ticket.lastScanPoint}` : "";
  return { ...verdict, message: `Already checked in${where} at ${ticket.lastScannedAt}.` };
}

function sessionVerdict(bundle, ticket, door, local) {
  const rules = bundle.rules;
  const atParent = { ...door, eventId: null };
  const first = firstBroken(rules, ticket, atParent, 0, ["already_used"]);
  if (first) return first;
  const session = ticket.session || { attending: false, scanCount: 0 };
  const sessionRule = rules.session;
  if (sessionRule.name !== "not_registered_for_session") return unknownRule(sessionRule.name, ticket);
  if (!ticket[sessionRule.params.exemptWhenTypeField] && !session.attending) return refusal(sessionRule, ticket);
  const limitRule = rules.ticket.find((rule) => rule.name === "already_used");
  if (limitRule && TICKET_CHECKS.already_used(ticket, atParent, limitRule.params, session.scanCount + local)) {
    return { ...refusal(limitRule, ticket), message: "This ticket has already been checked in to this session." };
  }
  return null;
}

/**
 * Decide a scan offline. `text`: the scanned text (a signed BO1/BO2 code or a barcode pool code); options:
 * `scanPoint` (null: the door names none), `nowMs` (for rotating codes), `localAdmissions` (ticket id -> this
 * device's admissions not yet in the bundle's counts; an object or a Map), `purpose` (`check_in` or `validate`).
 * Returns `{admit, rule, type, message, status, ticket}` (`rule` null when admitted; `ticket` the bundle's).
 */
export async function evaluate(bundle, text, { scanPoint = null, nowMs = Date.now(), localAdmissions = null,
  purpose = "check_in" } = {}) {
  const rules = bundle.rules;
  const scan = new Scan(bundle, text);
  const door = { eventId: bundle.event.id, scanPoint, nowMs, purpose,
    // a code that never changes (a static BO1 code, a barcode pool code): a rotating type refuses it
    staticCode: scan.signed ? scan.signed.format === "BO1" : scan.pooled !== null,
    secretVersion: scan.signed ? scan.signed.secretVersion : null };
  for (const rule of rules.code) {
    const check = CODE_CHECKS[rule.name];
    if (!check) return unknownRule(rule.name, scan.ticket);
    if (await check(scan, rule.params, door)) return refusal(rule, null);
  }
  let ticket = scan.ticket;
  if (ticket === null) {
    // a valid code of another event of the tenant: the ticket rules refuse it as such (`wrong_event`)
    ticket = { id: scan.signed.ticketId, eventId: null, status: "valid", secretVersion: scan.signed.secretVersion,
      acceptedScanPoints: [], scanCount: 0 };
  }
  return decide(bundle, ticket, door, countOf(localAdmissions, ticket.id), scan.ticket);
}

/**
 * Decide a ticket typed by id at the door (the server's `POST /events/check-in/{ticketId}`): no code rules, no
 * secret version; an id the bundle does not hold is refused as `unknown`. Same options and answer as `evaluate`.
 */
export async function evaluateTicketId(bundle, ticketId, { scanPoint = null, localAdmissions = null,
  purpose = "check_in" } = {}) {
  const ticket = bundle.tickets.find((t) => t.id === ticketId) || null;
  if (ticket === null) {
    const unknown = bundle.rules.code.find((rule) => rule.name === "unknown");
    return unknown ? refusal(unknown, null) : unknownRule("unknown", null);
  }
  const door = { eventId: bundle.event.id, scanPoint, nowMs: 0, purpose, staticCode: false, secretVersion: null };
  return decide(bundle, ticket, door, countOf(localAdmissions, ticket.id), ticket);
}

function decide(bundle, ticket, door, local, shown) {
  const parent = bundle.event.parentEventId;
  let verdict;
  if (parent && ticket.eventId === parent) {
    verdict = sessionVerdict(bundle, ticket, door, local);
  } else {
    verdict = firstBroken(bundle.rules, ticket, door, (ticket.scanCount || 0) + local);
    if (!verdict && !bundle.rules.admittableStatuses.includes(ticket.status)) {
      const limit = bundle.rules.ticket.find((rule) => rule.name === "already_used");
      verdict = limit ? refusal(limit, ticket) : unknownRule("already_used", ticket);
    }
  }
  if (verdict) return alreadyUsedMessage({ ...verdict, ticket: shown });
  return { admit: true, rule: null, type: null, message: null, status: 200, ticket: shown };
}

/** The rule names this evaluator implements, by table section (a test checks them against the server's). */
export const IMPLEMENTED = {
  code: Object.keys(CODE_CHECKS), ticket: Object.keys(TICKET_CHECKS), session: ["not_registered_for_session"],
};
