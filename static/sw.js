// The page's service worker (served at /sw.js so its scope is the whole site): keeps the
// page itself, so a visit while the server is down still shows the page, whose worker
// then says the server is unreachable, instead of the browser's error page.
//
// Only the navigation to the page ("/", whatever its query) is handled, network first: a
// fresh copy whenever the server answers (kept for next time), the kept copy when it does
// not. Nothing else passes through here: every file the page loads is named by a URL that
// changes with its contents and is cached for a year (the page's own at
// /static/v/<version>/, Pyodide's by its version, the runtime files by their hash), so the
// browser's HTTP cache serves a repeat visit, server or no server, without asking. Where
// the browser offers static routing, those requests skip this worker entirely (each one
// it sees costs a task on its thread: ~35 per visit).

const CACHE = "shadernet-shell-v2";

self.addEventListener("install", (event) => {
  const routed = event.addRoutes
    ? Promise.resolve(event.addRoutes({ condition: { not: { requestMode: "navigate" } },
                                        source: "network" })).catch(() => {})
    : Promise.resolve();
  event.waitUntil(Promise.all([routed, keepPage()]).then(() => self.skipWaiting()));
});

async function keepPage() {
  const page = await fetch("/", { cache: "no-cache" });
  if (page.ok) await (await caches.open(CACHE)).put("/", page);
}

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    // The navigation request starts while this worker boots, not after.
    await self.registration.navigationPreload?.enable();
    await self.clients.claim();
  })());
});

function handled(request) {
  return request.method === "GET" && request.mode === "navigate"
    && new URL(request.url).pathname === "/";
}

// The response goes to the page as soon as it arrives; keeping the copy runs after it.
async function networkFirst(event) {
  try {
    const response = (await event.preloadResponse) || (await fetch(event.request));
    if (response.ok) {
      const copy = response.clone();
      event.waitUntil(caches.open(CACHE).then((cache) => cache.put("/", copy)));
    }
    return response;
  } catch (error) {
    const kept = await (await caches.open(CACHE)).match("/");
    if (kept) return kept;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  if (handled(event.request)) event.respondWith(networkFirst(event));
});
