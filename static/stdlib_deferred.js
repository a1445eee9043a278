// The stdlib zip of a restored interpreter, written in after its start instead of before.
//
// Pyodide's module waits, before it runs, for its stdlib zip (4.5 MB) to be fetched and
// written to /lib/python314.zip. A restored interpreter needs nothing from it at once:
// what it imported before the snapshot is in its memory, and zipimport's table of the
// zip's contents too. On a busy worker thread that body arrived ~0.6 s after it was asked
// for, and the restore waited ~50 ms for it. So the restoring module is handed an empty
// zip (EMPTY_ZIP, python_boot.js) and the real one is written over it once it has arrived;
// an import that comes first (a module the snapshot does not hold) reads it from the HTTP
// cache synchronously, through a finder at the head of sys.meta_path, then goes on as
// usual. Reading a module's source (linecache, for a traceback) gets nothing meanwhile.

// An empty zip archive: its end-of-central-directory record alone.
export const EMPTY_ZIP = Uint8Array.of(0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0));

// Put before every other finder: an import of a module or package the zip holds (by the
// restored zipimport table of its contents: asking zipimport itself would read the file)
// writes the zip first; anything else (Pyodide's \`js\` module, the wheel's) passes by.
const FINDER = `
import sys
import zipimport

class StdlibNotYetWritten:
    def __init__(self, zip_path, write_now):
        self.zip_path, self.write_now = zip_path, write_now
        table = zipimport._zip_directory_cache.get(zip_path)
        # Top-level names ("fractions" of fractions.pyc, "json" of json/decoder.pyc).
        self.top_level = None if table is None else {
            key.split("/")[0].split(".")[0] for key in table}

    def find_spec(self, name, path=None, target=None):
        if path is None:
            needed = self.top_level is None or name in self.top_level
        else:
            needed = any(str(entry).startswith(self.zip_path) for entry in path)
        if needed:
            self.remove()
            self.write_now()
        return None

    def remove(self):
        if self in sys.meta_path:
            sys.meta_path.remove(self)

def install(write_now):
    zip_path = next(p for p in sys.path if p.endswith(".zip"))
    finder = StdlibNotYetWritten(zip_path, write_now)
    sys.meta_path.insert(0, finder)
    return finder

install
`;

// `stdlib`: {url, response: Promise<Response>} (python_boot.preload's). Resolves once the
// zip is written, or the download failed (the first import then reads it synchronously).
export function writeStdlibLater(python, stdlib) {
  let finder = null;
  const write = (bytes) => {
    if (!finder) return;
    python.FS.writeFile(finder.zip_path, bytes, { canOwn: true });
    finder.remove();
    finder.destroy();
    finder = null;
  };
  const scope = python.toPy({});  // not the page's __main__
  const install = python.runPython(FINDER, { globals: scope });
  try {
    finder = install(() => write(readNow(stdlib.url)));
  } finally {
    install.destroy();
    scope.destroy();
  }
  return (async () => {
    const response = await stdlib.response;
    if (!response.ok) throw new Error(`HTTP ${response.status} for ${stdlib.url}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    write(bytes);
  })().catch((error) => {
    console.warn(`shadernet: the stdlib zip is read when first needed (${error.message || error})`);
  });
}

// The zip's bytes by a synchronous request (from the HTTP cache: it is immutable). As a
// binary string, the one form a synchronous request may return on the page's thread too.
function readNow(url) {
  const request = new XMLHttpRequest();
  request.open("GET", url, false);
  request.overrideMimeType("text/plain; charset=x-user-defined");
  request.send();
  if (request.status !== 200) throw new Error(`HTTP ${request.status} for ${url}`);
  const text = request.responseText;
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes;
}
