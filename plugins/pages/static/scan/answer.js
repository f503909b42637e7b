// The answer to a scan as door staff see and hear it: a large green or red panel (holder, ticket type, why,
// entry n of limit), announced to screen readers by its aria-live region, and a short tone (high: admitted,
// low: refused). Decides nothing: it shows the verdict it is given.

let audio = null;

// A short tone through WebAudio (created on first use, after a user gesture has allowed sound).
export function beep(admitted) {
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    oscillator.type = "sine";
    oscillator.frequency.value = admitted ? 1320 : 220;
    gain.gain.setValueAtTime(0.25, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + (admitted ? 0.18 : 0.45));
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start();
    oscillator.stop(audio.currentTime + (admitted ? 0.2 : 0.5));
  } catch (error) {
    // no sound on this device: the panel still says it
  }
}

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (all, name) => (name in values ? String(values[name]) : all));
}

export class AnswerPanel {
  constructor(root, catalogue) {
    this.root = root;
    this.words = catalogue.words;
    this.refusals = catalogue.refusals;
    this.parts = {verdict: root.querySelector("#answer-verdict"), holder: root.querySelector("#answer-holder"),
                  type: root.querySelector("#answer-type"), why: root.querySelector("#answer-why"),
                  count: root.querySelector("#answer-count")};
  }

  // The catalogue's words for a refusal `type`, else the server's (or evaluator's) own message.
  reason(type, message) {
    return this.refusals[type] || message || this.words.serverError;
  }

  busy() {
    this.root.className = "answer answer-busy";
    this.root.setAttribute("aria-busy", "true");
    this.parts.verdict.textContent = this.words.checking;
    for (const key of ["holder", "type", "why", "count"]) this.parts[key].textContent = "";
  }

  // verdict: {admit, type, message, ticket: {holderName, typeName, scanCount}, limit, offline}
  show(verdict) {
    const {admit, ticket, limit} = verdict;
    this.root.removeAttribute("aria-busy");
    this.root.className = "answer " + (admit ? "answer-admitted" : "answer-refused");
    this.root.dataset.verdict = admit ? "admitted" : "refused";
    this.root.dataset.type = admit ? "" : (verdict.type || "");
    this.root.dataset.shown = String(Number(this.root.dataset.shown || 0) + 1);  // answers so far
    this.parts.verdict.textContent = admit ? this.words.admitted : this.words.refused;
    this.parts.holder.textContent = ticket ? (ticket.holderName || this.words.holderUnknown) : "";
    this.parts.type.textContent = ticket && ticket.typeName ? ticket.typeName : "";
    const why = admit ? "" : this.reason(verdict.type, verdict.message);
    this.parts.why.textContent = [why, verdict.offline ? this.words.offlineDecision : ""].filter(Boolean).join(" ");
    let count = "";
    if (ticket && typeof ticket.scanCount === "number" && ticket.scanCount > 0) {
      count = limit ? fill(this.words.entry, {count: ticket.scanCount, limit})
                    : fill(this.words.entryNoLimit, {count: ticket.scanCount});
    }
    this.parts.count.textContent = count;
    beep(admit);
  }
}

export {fill};
