// The core's API as the door scanner calls it: staff sign-in, the event list, the device credential, check-in,
// the offline bundle and scan uploads. Holds no rule: every answer is the server's; a network failure is
// reported as `Unreachable` so the caller can decide offline.

const TIMEOUT_MS = 8000;

export class Unreachable extends Error {}

// A refusal or error the server answered: its status and JSON body (`type`, `message`, `ticket`, ...).
export class Refused extends Error {
  constructor(status, body) {
    super(body.message || "HTTP " + status);
    this.status = status;
    this.body = body;
  }
}

export class DoorApi {
  constructor(org, token = null) {
    this.org = org;
    this.token = token;
  }

  async call(method, path, body = undefined, extraHeaders = {}) {
    if (navigator.onLine === false) throw new Unreachable("offline");
    const headers = {"Accept": "application/json", "orgid": this.org, ...extraHeaders};
    if (this.token) headers["Authorization"] = "Bearer " + this.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
    let answer;
    try {
      answer = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                                  signal: abort.signal, cache: "no-store", credentials: "omit"});
    } catch (error) {
      throw new Unreachable(String(error));
    } finally {
      clearTimeout(timer);
    }
    if (answer.status === 304) return {status: 304, body: null, headers: answer.headers};
    if (answer.status >= 502 && answer.status <= 504) throw new Unreachable("HTTP " + answer.status);
    const parsed = await answer.json().catch(() => ({}));
    if (!answer.ok) throw new Refused(answer.status, parsed);
    return {status: answer.status, body: parsed, headers: answer.headers};
  }

  signIn(email, password, otp) {
    const body = {email, password};
    if (otp) body.otp = otp;
    return this.call("POST", "/auth/login", body);
  }

  // Events that have not ended, soonest first: the staff list (`GET /events`), or, for a role that may not read
  // it (door), the published events (`GET /client/events`).
  async upcomingEvents(nowIso) {
    const query = new URLSearchParams({"filter[ends_at][from]": nowIso, "page[size]": "50",
                                       "fields": "id,name,start,end,tz,type,parent_event_id"}).toString();
    try {
      return await this.call("GET", "/events?" + query);
    } catch (error) {
      if (!(error instanceof Refused) || error.status !== 403 || error.body.type !== "forbidden_role") throw error;
      return new DoorApi(this.org).call("GET", "/client/events?" + query);
    }
  }

  registerDevice(eventId, name) {
    return this.call("POST", `/events/${encodeURIComponent(eventId)}/door-devices`, {name});
  }

  checkInCode(eventId, code, scanPoint) {
    return this.call("POST", "/events/check-in", {qrPayload: code, eventId, scanPoint});
  }

  checkInTicket(eventId, ticketId, scanPoint) {
    return this.call("POST", `/events/check-in/${encodeURIComponent(ticketId)}`, {eventId, scanPoint});
  }

  // The event's offline bundle; `etag` (the last one's) makes an unchanged bundle a bodiless 304.
  bundle(eventId, etag = null) {
    return this.call("GET", `/events/${encodeURIComponent(eventId)}/door-bundle`, undefined,
                     etag ? {"If-None-Match": etag} : {});
  }

  // Revoke this device's credential (signing out): its token is refused from then on.
  forgetDevice(eventId, deviceId) {
    return this.call("DELETE", `/events/${encodeURIComponent(eventId)}/door-devices/${encodeURIComponent(deviceId)}`);
  }

  uploadScans(eventId, scans) {
    return this.call("POST", `/events/${encodeURIComponent(eventId)}/door-scans`, {scans});
  }
}
