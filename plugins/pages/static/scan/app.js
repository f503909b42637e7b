// The door scanner (/e/{org}/scan): sign in as door staff, choose the event (the device gets its own credential
// for it; the staff member's token is then forgotten) and the scan point, then scan. Online the server decides
// every scan; offline the server's own rule table decides through door-evaluator.js, from the event's bundle and
// this device's admissions, and the scan is queued for upload. The words come from the page (the pages' catalogue).

import {AnswerPanel, fill} from "./answer.js";
import {Camera} from "./camera.js";
import {DoorApi, Refused, Unreachable} from "./door-api.js";
import {openStore} from "./store.js";
import {Sync} from "./sync.js";

const settings = JSON.parse(document.getElementById("scan-settings").textContent);
const catalogue = JSON.parse(document.getElementById("scan-catalogue").textContent);
const words = catalogue.words;
const TICKET_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STEPS = ["step-sign-in", "step-event", "step-point", "step-scan"];
const FIRST_SYNC_WAIT_MS = 3000;

const $ = (id) => document.getElementById(id);
const panel = new AnswerPanel($("answer"), catalogue);
let store = null;
let device = null;      // {deviceId, token, expiresAt, event, scanPoints}
let scanPoint = null;
let sync = null;
let camera = null;
let memberToken = null; // only between sign-in and choosing the event
let evaluator = null;

function show(step) {
  for (const id of STEPS) $(id).hidden = id !== step;
  const heading = $(step).querySelector("h2");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
}

function problem(element, text) {
  element.textContent = text || "";
  element.hidden = !text;
}

function refusalText(error) {
  if (error instanceof Unreachable) return words.networkError;
  if (error instanceof Refused) return panel.reason(error.body.type, error.body.message);
  return words.serverError;
}

function localTime(iso, tz) {
  if (!iso) return "";
  try {
    return new Intl.DateTimeFormat(settings.language, {dateStyle: "medium", timeStyle: "short", timeZone: tz || undefined})
      .format(new Date(iso));
  } catch (error) {
    return iso;
  }
}

// --- sign in and choose the event ---------------------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const form = event.target;
  problem($("sign-in-problem"), "");
  const otp = form.otp.value.trim();
  try {
    const answer = await new DoorApi(settings.org).signIn(form.email.value.trim(), form.password.value, otp);
    memberToken = answer.body.token;
    form.password.value = "";
    form.otp.value = "";
    $("otp-field").hidden = true;
    await listEvents();
  } catch (error) {
    if (error instanceof Refused && ["otp_required", "invalid_otp"].includes(error.body.type)) {
      $("otp-field").hidden = false;
      $("scan-otp").focus();
    }
    problem($("sign-in-problem"), refusalText(error));
  }
}

async function listEvents() {
  const list = $("event-list");
  list.replaceChildren();
  problem($("event-problem"), "");
  show("step-event");
  let events = [];
  try {
    events = (await new DoorApi(settings.org, memberToken).upcomingEvents(new Date().toISOString())).body.data || [];
  } catch (error) {
    problem($("event-problem"), refusalText(error));
    return;
  }
  if (!events.length) problem($("event-problem"), words.noEvents);
  for (const item of events) {
    const row = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "scan-event";
    button.dataset.eventId = item.id;
    const name = document.createElement("span");
    name.className = "scan-event-title";
    name.textContent = item.name;
    const when = document.createElement("span");
    when.className = "scan-event-when";
    when.textContent = fill(words.eventStarts, {time: localTime(item.start, item.tz)});
    button.append(name, when);
    button.addEventListener("click", () => chooseEvent(item.id));
    row.append(button);
    list.append(row);
  }
}

async function chooseEvent(eventId) {
  problem($("event-problem"), "");
  try {
    const name = (navigator.userAgentData && navigator.userAgentData.platform) || "Door scanner";
    const answer = await new DoorApi(settings.org, memberToken).registerDevice(eventId, name);
    device = answer.body;
  } catch (error) {
    problem($("event-problem"), refusalText(error));
    return;
  }
  memberToken = null;
  await store.put("device", device);
  await store.put("conflicts", []);
  const points = device.scanPoints || [];
  if (device.scanPoint || !points.length) {
    await startScanning(device.scanPoint || null);
  } else {
    choosePoint();
  }
}

function choosePoint() {
  const select = $("scan-point");
  select.replaceChildren();
  const none = new Option(words.unnamedPoint, "");
  select.append(none, ...(device.scanPoints || []).map((point) => new Option(point, point)));
  if (scanPoint) select.value = scanPoint;
  fillEventName();
  show("step-point");
}

function fillEventName() {
  for (const slot of document.querySelectorAll("[data-slot=event-name]")) slot.textContent = device.event.name;
  for (const slot of document.querySelectorAll("[data-slot=point-name]")) slot.textContent = scanPoint ? "· " + scanPoint : "";
}

// --- scanning -----------------------------------------------------------------------------------------------

async function startScanning(point) {
  scanPoint = point;
  await store.put("scanPoint", point);
  fillEventName();
  document.querySelector("[data-action=change-point]").hidden = !(device.scanPoints || []).length;
  show("step-scan");
  $("connection").hidden = false;
  if (!sync) {
    sync = new Sync(new DoorApi(settings.org, device.token), store, device.event.id, showState);
    // The ticket list first (it gives the entry limits shown), but never wait long for it to scan.
    await Promise.race([sync.start(), new Promise((resolve) => setTimeout(resolve, FIRST_SYNC_WAIT_MS))]);
  }
  startCamera();
  $("scan-code").focus();
}

async function startCamera() {
  camera = camera || new Camera($("camera-view"), settings.decoderWorker, (text) => decide(text, false));
  try {
    await camera.start();
    $("camera-state").textContent = words.cameraOn;
  } catch (error) {
    $("camera-state").textContent = words.cameraUnavailable;
  }
  $("camera-toggle").setAttribute("aria-pressed", String(camera.running));
}

function toggleCamera() {
  if (camera && camera.running) {
    camera.stop();
    $("camera-toggle").setAttribute("aria-pressed", "false");
    $("camera-state").textContent = "";
  } else {
    startCamera();
  }
}

// The admissions a bundle ticket allows (`scanLimit`, null: no limit).
function limitOf(bundleTicket) {
  return bundleTicket ? bundleTicket.scanLimit : null;
}

async function bundleTicket(ticketId) {
  const bundle = await store.get("bundle");
  return bundle && ticketId ? (bundle.tickets || []).find((ticket) => ticket.id === ticketId) : null;
}

let deciding = Promise.resolve();

// One scan at a time, in the order they came.
function decide(text, typed) {
  deciding = deciding.then(() => decideNow(text.trim(), typed))
    .catch(() => panel.show({admit: false, type: "", message: words.serverError}));  // never left "Checking..."
  return deciding;
}

async function decideNow(text, typed) {
  if (!text) return;
  panel.busy();
  const byId = typed && TICKET_ID.test(text);
  const api = new DoorApi(settings.org, device.token);
  try {
    const answer = byId ? await api.checkInTicket(device.event.id, text, scanPoint)
                        : await api.checkInCode(device.event.id, text, scanPoint);
    const ticket = answer.body.ticket || {};
    await store.record({scanId: crypto.randomUUID(), ticketId: ticket.id, verdict: "admitted", state: "sent",
                        ackedAt: Date.now(), scannedAt: new Date().toISOString(), scanPoint, online: true});
    panel.show({admit: true, ticket: shown(ticket), limit: limitOf(await bundleTicket(ticket.id))});
  } catch (error) {
    if (error instanceof Refused) {
      const ticket = error.body.ticket || null;
      panel.show({admit: false, type: error.body.type, message: error.body.message, ticket: ticket && shown(ticket),
                  limit: ticket ? limitOf(await bundleTicket(ticket.id)) : null});
    } else if (error instanceof Unreachable) {
      await decideOffline(text, byId);
    } else {
      panel.show({admit: false, type: "", message: words.serverError});
    }
  }
  if (sync) sync.report();
}

// The server's ticket block as the panel shows it.
function shown(ticket) {
  return {holderName: ticket.holderName, typeName: ticket.ticketType ? ticket.ticketType.name : ticket.typeName,
          scanCount: ticket.scanCount};
}

async function loadEvaluator() {
  if (!evaluator) evaluator = await import(settings.evaluator);
  return evaluator;
}

async function decideOffline(text, byId) {
  const bundle = await store.get("bundle");
  if (!bundle) {
    panel.show({admit: false, type: "", message: words.noBundle, offline: true});
    return;
  }
  let rules;
  try {
    rules = await loadEvaluator();
  } catch (error) {
    panel.show({admit: false, type: "", message: words.evaluatorMissing, offline: true});
    return;
  }
  const localAdmissions = await store.localAdmissions();
  const options = {scanPoint, nowMs: Date.now(), localAdmissions};
  let verdict;
  try {
    verdict = byId ? await rules.evaluateTicketId(bundle, text, options) : await rules.evaluate(bundle, text, options);
  } catch (error) {
    panel.show({admit: false, type: "", message: words.evaluatorMissing, offline: true});  // nothing decided
    return;
  }
  const ticket = verdict.ticket || null;
  const ticketId = ticket ? ticket.id : (byId ? text : null);
  await store.record({scanId: crypto.randomUUID(), ticketId, typed: byId, code: byId ? null : text, scanPoint,
                      scannedAt: new Date().toISOString(), verdict: verdict.admit ? "admitted" : "refused",
                      reason: verdict.admit ? null : verdict.rule, state: "pending"});
  let view = null;
  if (ticket) {
    const count = (ticket.scanCount || 0) + (localAdmissions[ticket.id] || 0) + (verdict.admit ? 1 : 0);
    view = {holderName: ticket.holderName, typeName: ticket.typeName, scanCount: count};
  }
  panel.show({admit: verdict.admit, type: verdict.type, message: verdict.message, ticket: view,
              limit: limitOf(ticket), offline: true});
}

// The banner: offline or online, scans waiting, conflicts the server reported, the bundle's age.
function showState({online, pending, conflicts, bundle}) {
  const banner = $("connection");
  banner.dataset.online = String(online);
  banner.dataset.pending = String(pending);
  banner.className = "connection " + (online ? "connection-online" : "connection-offline");
  $("connection-state").textContent = online ? words.online : words.offline;
  $("queue-state").textContent = pending ? fill(words.queued, {count: pending}) : (online ? words.uploaded : "");
  const list = $("conflict-list");
  list.replaceChildren(...conflicts.map((conflict) => {
    const item = document.createElement("li");
    const ticket = conflict.ticket || {};
    item.textContent = fill(words.conflict, {ticket: ticket.holderName || ticket.id || "",
                                             count: ticket.scanCount, limit: conflict.limit || "?"});
    item.dataset.ticketId = ticket.id || "";
    return item;
  }));
  $("conflicts").hidden = !conflicts.length;
  $("bundle-state").textContent = bundle ? fill(words.bundleAge, {time: localTime(bundle.generatedAt)}) : words.noBundle;
}

// --- sign out -----------------------------------------------------------------------------------------------

async function signOut() {
  problem($("sign-out-problem"), "");
  if (sync) await sync.now();
  if (store && (await store.pending()).length) {
    problem($("sign-out-problem"), words.signOutBlocked);
    return;
  }
  if (sync) sync.stop();
  if (camera) camera.stop();
  try {
    if (device) await new DoorApi(settings.org, device.token).forgetDevice(device.event.id, device.deviceId);
  } catch (error) {
    // offline, or already expired or revoked: the credential ends with the event anyway
  }
  sync = null;
  device = null;
  scanPoint = null;
  memberToken = null;
  await store.clear();
  $("connection").hidden = true;
  panel.root.className = "answer answer-idle";
  show("step-sign-in");
}

// --- start --------------------------------------------------------------------------------------------------

async function boot() {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(settings.worker, {scope: settings.scanPath}).catch(() => {});
  }
  store = await openStore(settings.org);
  $("sign-in-form").addEventListener("submit", signIn);
  $("point-form").addEventListener("submit", (event) => {
    event.preventDefault();
    startScanning($("scan-point").value || null);
  });
  $("code-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("scan-code");
    const text = input.value;
    input.value = "";
    decide(text, true).then(() => input.focus());
  });
  $("camera-toggle").addEventListener("click", toggleCamera);
  for (const button of document.querySelectorAll("[data-action=sign-out]")) button.addEventListener("click", signOut);
  document.querySelector("[data-action=change-point]").addEventListener("click", choosePoint);
  device = await store.get("device");
  if (device && Date.parse(device.expiresAt) > Date.now()) {
    const point = await store.get("scanPoint");
    if (point === undefined && (device.scanPoints || []).length) choosePoint();
    else await startScanning(point || null);
  } else {
    if (device && !(await store.pending()).length) await store.clear();
    device = null;
    show("step-sign-in");
  }
  document.documentElement.dataset.scanner = "ready";
}

boot();
