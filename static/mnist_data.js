// MNIST for training in the page: the server's listing (/api/mnist) names four gzip files
// at immutable URLs (the browser's HTTP cache keeps them); each is fetched, decompressed
// with DecompressionStream and checked against the listed size. The result is four
// Uint8Arrays (images 784 bytes each, labels 1 byte each), whose buffers the page moves to
// the worker (which keeps them for every run).

const KEYS = ["train_images", "train_labels", "test_images", "test_labels"];

async function responseOk(url, what) {
  const response = await fetch(url);
  if (!response.ok) {
    let detail = "";
    try { detail = (await response.json()).detail || ""; } catch (_) { /* not JSON */ }
    throw new Error(`${what}: HTTP ${response.status} for ${url}${detail ? ": " + detail : ""}`);
  }
  return response;
}

// The decompressed bytes of one listed file, into one buffer of its listed size.
async function gunzip(response, entry, onBytes) {
  const bytes = new Uint8Array(entry.bytes);
  const reader = response.body.pipeThrough(new DecompressionStream("gzip")).getReader();
  let filled = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (filled + value.length > bytes.length) {
      throw new Error(`${entry.url}: more than the ${entry.bytes} bytes the listing gives`);
    }
    bytes.set(value, filled);
    filled += value.length;
    onBytes(value.length);
  }
  if (filled !== bytes.length) {
    throw new Error(`${entry.url}: ${filled} bytes after decompressing, the listing gives ${entry.bytes}`);
  }
  return bytes;
}

// {train_images, train_labels, test_images, test_labels, n_train, n_test}; onProgress(fraction).
export async function loadMnist(listingUrl, onProgress = () => {}) {
  const { files } = await (await responseOk(listingUrl, "MNIST listing")).json();
  const missing = KEYS.filter((key) => !files?.[key]);
  if (missing.length) throw new Error(`MNIST listing ${listingUrl} lacks ${missing.join(", ")}`);
  const total = KEYS.reduce((sum, key) => sum + files[key].bytes, 0);
  let done = 0;
  const counted = (n) => { done += n; onProgress(done / total); };
  const arrays = await Promise.all(KEYS.map(async (key) =>
    gunzip(await responseOk(files[key].url, `MNIST ${key}`), files[key], counted)));
  const data = Object.fromEntries(KEYS.map((key, i) => [key, arrays[i]]));
  return { ...data, n_train: files.train_labels.count, n_test: files.test_labels.count };
}
