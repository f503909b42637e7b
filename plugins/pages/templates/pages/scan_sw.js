// The door scanner's service worker (served by plugins/pages/scan_views.py): keeps the app shell, its scripts,
// styles, icons, manifest and QR decoder so the scanner reloads without a network. Never stores an API answer:
// tickets, the device's sign-in and queued scans live in the page's IndexedDB.
const VERSION = {{ version|tojson }};
const SCOPE = {{ scope|tojson }};
const CACHE = "boxoffice-scan:" + SCOPE + ":" + VERSION;
const OFFLINE_URLS = {{ urls|tojson }};
const KEPT = new Set(OFFLINE_URLS.map((url) => new URL(url, self.location.origin).pathname));

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(OFFLINE_URLS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  const mine = "boxoffice-scan:" + SCOPE + ":";
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((name) => name.startsWith(mine) && name !== CACHE)
      .map((name) => caches.delete(name))))
    .then(() => self.clients.claim()));
});

// The shell: the network first (a fresh page when online, kept for later), the stored one when it fails.
async function shell(request) {
  const cache = await caches.open(CACHE);
  try {
    const answer = await fetch(request);
    if (answer.ok) await cache.put(SCOPE, answer.clone());
    return answer;
  } catch (error) {
    const kept = await cache.match(SCOPE, {ignoreVary: true});
    if (kept) return kept;
    throw error;
  }
}

// Scripts, styles, icons, the manifest: the stored copy of this release, else the network. `ignoreVary`: the
// app answers vary on headers (Origin, Cookie) a module script request sends and the install did not.
async function file(request) {
  const kept = await caches.match(request, {cacheName: CACHE, ignoreSearch: true, ignoreVary: true});
  return kept || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === SCOPE) {
    event.respondWith(shell(request));
  } else if (KEPT.has(url.pathname)) {
    event.respondWith(file(request));
  }
});
