// The page's service worker (served at /sw.js so its scope is the whole site): keeps the
// page's shell, so a visit while the server is down still shows the page, whose worker
// then says the server is unreachable, instead of the browser's error page.
//
// Only the page itself (at "/") and /static/ files are handled, network first: a
// fresh copy whenever the server answers (kept for next time), the kept copy when it does
// not. Everything else (Pyodide, the runtime files, the model API) is left to the
// browser and its HTTP cache: those URLs are versioned or must be live.

const CACHE = "shadernet-shell-v1";
const SHELL_PATHS = ["/", "/static/app.js", "/static/preload.js", "/static/index.css", "/static/worker.js",
                     "/static/snapshot_store.js", "/static/snapshot_opfs.js",
                     "/static/snapshot_idb.js", "/static/snapshot_served.js", "/static/engine_traits.js",
                     "/static/python_boot.js",
                     "/static/worker_models.js", "/static/worker_training.js"];

// The shell, plus every /static/ file the page's HTML names (stylesheets, modules).
async function precache() {
  const cache = await caches.open(CACHE);
  const page = await fetch("/", { cache: "no-cache" });
  const html = await page.clone().text();
  await cache.put("/", page);
  const named = [...html.matchAll(/(?:src|href)="(\/static\/[^"?#]+)"/g)].map((m) => m[1]);
  await cache.addAll([...new Set([...SHELL_PATHS.slice(1), ...named])]);
}

self.addEventListener("install", (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    // The navigation request starts while this worker boots, not after.
    await self.registration.navigationPreload?.enable();
    await self.clients.claim();
  })());
});

function handled(request) {
  if (request.method !== "GET") return false;
  const url = new URL(request.url);
  return url.origin === self.location.origin
    && (url.pathname === "/" || url.pathname.startsWith("/static/"));
}

// The response goes to the page as soon as it arrives; keeping the copy runs after it,
// off the page's path (each visit revalidates every module of the page and its worker).
async function networkFirst(event) {
  const { request } = event;
  // The page is kept under "/" whatever its query string.
  const cacheKey = new URL(request.url).pathname === "/" ? "/" : request;
  try {
    const response = (await event.preloadResponse) || (await fetch(request));
    if (response.ok) {
      const copy = response.clone();
      event.waitUntil(caches.open(CACHE).then((cache) => cache.put(cacheKey, copy)));
    }
    return response;
  } catch (error) {
    const kept = await (await caches.open(CACHE)).match(cacheKey);
    if (kept) return kept;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  if (handled(event.request)) event.respondWith(networkFirst(event));
});
