// What a door device keeps in the browser (IndexedDB, one database per organiser): its device sign-in, the
// event's offline bundle, and its scan journal (scans waiting to upload, and admissions the bundle does not count
// yet). Never keeps a staff member's own token or password.

const DB_VERSION = 1;
const SETTINGS = "settings";  // key -> value: "device", "bundle", "scanPoint", "conflicts"
const JOURNAL = "journal";    // one row per scan this device decided or sent: {scanId, seq, ...}

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = tx.onerror = () => reject(tx.error);
  });
}

export async function openStore(org) {
  const open = indexedDB.open("boxoffice-scan:" + org, DB_VERSION);
  open.onupgradeneeded = () => {
    const db = open.result;
    db.createObjectStore(SETTINGS);
    const journal = db.createObjectStore(JOURNAL, {keyPath: "scanId"});
    journal.createIndex("seq", "seq", {unique: true});
  };
  return new DeviceStore(await request(open));
}

export class DeviceStore {
  constructor(db) {
    this.db = db;
  }

  async get(key) {
    return request(this.db.transaction(SETTINGS).objectStore(SETTINGS).get(key));
  }

  async put(key, value) {
    const tx = this.db.transaction(SETTINGS, "readwrite");
    tx.objectStore(SETTINGS).put(value, key);
    return done(tx);
  }

  // Everything of the device: used on sign-out, once nothing waits to upload.
  async clear() {
    const tx = this.db.transaction([SETTINGS, JOURNAL], "readwrite");
    tx.objectStore(SETTINGS).clear();
    tx.objectStore(JOURNAL).clear();
    return done(tx);
  }

  // Record a scan: `pending` ones wait to upload; `sent` ones only count as admissions until a newer bundle does.
  async record(scan) {
    const tx = this.db.transaction(JOURNAL, "readwrite");
    const store = tx.objectStore(JOURNAL);
    const last = await request(store.index("seq").openCursor(null, "prev"));
    store.put({...scan, seq: last ? last.value.seq + 1 : 1});
    return done(tx);
  }

  // The journal in the order the scans happened.
  async journal() {
    return request(this.db.transaction(JOURNAL).objectStore(JOURNAL).index("seq").getAll());
  }

  async pending() {
    return (await this.journal()).filter((scan) => scan.state === "pending");
  }

  // The server acknowledged these scans (it counts them from now on): keep them as admissions until a bundle
  // generated after `ackedAt` counts them too.
  async acknowledge(scanIds, ackedAt) {
    const tx = this.db.transaction(JOURNAL, "readwrite");
    const store = tx.objectStore(JOURNAL);
    for (const scanId of scanIds) {
      const scan = await request(store.get(scanId));
      if (scan) store.put({...scan, state: "sent", ackedAt});
    }
    return done(tx);
  }

  // Drop the sent scans a bundle asked for at `askedAt` (ms, this device's clock) already counts: those the
  // server acknowledged before it was asked.
  async forgetCounted(askedAt) {
    const tx = this.db.transaction(JOURNAL, "readwrite");
    const store = tx.objectStore(JOURNAL);
    const all = await request(store.getAll());
    for (const scan of all) {
      if (scan.state === "sent" && scan.ackedAt <= askedAt) store.delete(scan.scanId);
    }
    return done(tx);
  }

  // The admissions this device knows of that its bundle does not count yet: ticket id -> count.
  async localAdmissions() {
    const counts = {};
    for (const scan of await this.journal()) {
      if (scan.verdict === "admitted" && scan.ticketId) counts[scan.ticketId] = (counts[scan.ticketId] || 0) + 1;
    }
    return counts;
  }
}
