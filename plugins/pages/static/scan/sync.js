// Keeping a door device in step with the server: upload the queued offline scans in the order they happened
// (retried with backoff until the server acknowledges each), then refresh the event's offline bundle (with the
// last one's ETag: an unchanged bundle costs no transfer), every minute while online and at once when the network
// returns. Conflicts the server reports for this device's uploads are kept and shown.

import {Refused, Unreachable} from "./door-api.js";

const REFRESH_MS = 60_000;
const BATCH = 500;           // the most scans one upload carries (the server's limit)
const FIRST_RETRY_MS = 1000;
const LAST_RETRY_MS = 60_000;

// The scan as the upload route takes it: a code or a typed ticket id, never both.
function uploadable(scan) {
  const sent = {scanId: scan.scanId, scanPoint: scan.scanPoint, scannedAt: scan.scannedAt, verdict: scan.verdict};
  if (scan.reason) sent.reason = scan.reason;
  if (scan.typed) sent.ticketId = scan.ticketId;
  else sent.code = scan.code;
  return sent;
}

export class Sync {
  // onChange({online, pending, conflicts, bundle}) is called whenever one of them may have changed.
  constructor(api, store, eventId, onChange) {
    this.api = api;
    this.store = store;
    this.eventId = eventId;
    this.onChange = onChange;
    this.online = navigator.onLine !== false;
    this.retryMs = FIRST_RETRY_MS;
    this.timer = null;
    this.running = null;
    this.stopped = false;
  }

  start() {
    this.onOnline = () => { this.online = true; this.retryMs = FIRST_RETRY_MS; this.now(); };
    this.onOffline = () => { this.online = false; this.report(); };
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    return this.now();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
  }

  // Upload and refresh now (one run at a time; a call during a run waits for it, then runs again).
  async now() {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    clearTimeout(this.timer);
    this.running = this.run().finally(() => { this.running = null; });
    await this.running;
    if (this.again) {
      this.again = false;
      return this.now();
    }
  }

  schedule(ms) {
    clearTimeout(this.timer);
    if (!this.stopped) this.timer = setTimeout(() => this.now(), ms);
  }

  async run() {
    try {
      await this.upload();
      await this.refresh();
      this.online = true;
      this.retryMs = FIRST_RETRY_MS;
      this.schedule(REFRESH_MS);
    } catch (error) {
      if (!(error instanceof Unreachable) && !(error instanceof Refused)) throw error;
      this.online = !(error instanceof Unreachable);
      this.lastError = error;
      this.schedule(this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, LAST_RETRY_MS);
    } finally {
      await this.report();
    }
  }

  async upload() {
    for (;;) {
      const pending = (await this.store.pending()).slice(0, BATCH);
      if (!pending.length) return;
      const answer = await this.api.uploadScans(this.eventId, pending.map(uploadable));
      const results = answer.body.scans || [];  // recorded | duplicate | conflict | rejected: all answered
      await this.store.acknowledge(results.map((result) => result.scanId), Date.now());
      const conflicts = results.filter((result) => result.result === "conflict");
      if (conflicts.length) await this.keepConflicts(conflicts);
      if (!results.length) throw new Refused(answer.status, {message: "no scan acknowledged"});
    }
  }

  // Keep the conflicts the server reported (each with the ticket's limit from the bundle) to show them.
  async keepConflicts(found) {
    const kept = (await this.store.get("conflicts")) || [];
    const bundle = (await this.store.get("bundle")) || {tickets: []};
    for (const conflict of found) {
      if (kept.some((one) => one.scanId === conflict.scanId)) continue;
      const ticket = conflict.ticket || {};
      const known = bundle.tickets.find((entry) => entry.id === ticket.id);
      kept.push({...conflict, limit: known ? known.scanLimit : null});
    }
    await this.store.put("conflicts", kept);
  }

  async refresh() {
    const kept = await this.store.get("bundle");
    const meta = (await this.store.get("bundleMeta")) || {};
    const askedAt = Date.now();
    const answer = await this.api.bundle(this.eventId, kept ? meta.etag : null);
    if (answer.status !== 304) {
      await this.store.put("bundle", answer.body);
      await this.store.put("bundleMeta", {etag: answer.headers.get("ETag"), fetchedAt: askedAt});
    }
    // Scans acknowledged before this request are counted by the bundle the server holds now.
    await this.store.forgetCounted(askedAt);
  }

  async report() {
    const pending = (await this.store.pending()).length;
    const conflicts = (await this.store.get("conflicts")) || [];
    const bundle = await this.store.get("bundle");
    this.onChange({online: this.online, pending, conflicts, bundle});
  }
}
