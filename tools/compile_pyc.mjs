// Compile Python sources to .pyc with Pyodide's own CPython (the one the page runs), in Node.
//
//   node tools/compile_pyc.mjs PYODIDE_DIR JOBS.json
//
// JOBS.json: [{"input": "a.zip", "output": "b.zip", "layout": "zipimport" | "pycache",
//              "prefix": "/lib/python314.zip/"}]. Each job reads a zip of .py files and
// writes a zip, atomically (".partial" then rename):
// - "zipimport" (the stdlib zip that loadPyodide({stdLibURL}) mounts): every module
//   `a/b.py` becomes `a/b.pyc`; other entries are copied unchanged.
// - "pycache" (a wheel's modules): only `a/__pycache__/b.<cache_tag>.pyc` entries.
// The .pyc are unchecked-hash (PEP 552): the importer never stats or re-reads the
// source, and the bytes depend on the source only (no timestamps). Compiled code names
// `prefix + path` as its file, where the importer will find it. Prints one JSON line:
// {"cache_tag", "magic", "jobs": [{"output", "compiled", "kept_as_source"}]}.
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const COMPILER = `
import importlib.util, json, sys, zipfile
from importlib._bootstrap_external import _code_to_hash_pyc

def compile_archive(source, target, layout, prefix):
    compiled, kept = 0, []
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w") as out:
        for info in archive.infolist():
            data = archive.read(info)
            name = info.filename
            if not name.endswith(".py") or info.is_dir():
                if layout == "zipimport":
                    out.writestr(info, data)
                continue
            try:
                code = compile(data, prefix + name, "exec", dont_inherit=True)
            except SyntaxError:
                kept.append(name)  # left as source: the importer compiles it, as before
                if layout == "zipimport":
                    out.writestr(info, data)
                continue
            pyc = bytes(_code_to_hash_pyc(code, importlib.util.source_hash(data), checked=False))
            if layout == "zipimport":
                entry = zipfile.ZipInfo(name + "c", date_time=info.date_time)
            else:
                folder, _, stem = name.rpartition("/")
                path = f"{folder}/__pycache__/" if folder else "__pycache__/"
                entry = zipfile.ZipInfo(f"{path}{stem[:-3]}.{sys.implementation.cache_tag}.pyc",
                                        date_time=(2026, 1, 1, 0, 0, 0))
            entry.compress_type = info.compress_type if layout == "zipimport" else zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            out.writestr(entry, pyc)
            compiled += 1
    return {"compiled": compiled, "kept_as_source": kept}
`;

async function main([pyodideDir, jobsPath]) {
  if (!pyodideDir || !jobsPath) {
    throw new Error("usage: node tools/compile_pyc.mjs PYODIDE_DIR JOBS.json");
  }
  const jobs = JSON.parse(readFileSync(jobsPath, "utf-8"));
  const { loadPyodide } = await import(pathToFileURL(resolve(pyodideDir, "pyodide.mjs")).href);
  const pyodide = await loadPyodide({ indexURL: resolve(pyodideDir) + "/" });
  pyodide.runPython(COMPILER);
  const compileArchive = pyodide.globals.get("compile_archive");
  const results = [];
  for (const [index, job] of jobs.entries()) {
    const source = `/tmp/in-${index}.zip`;
    const target = `/tmp/out-${index}.zip`;
    pyodide.FS.writeFile(source, readFileSync(job.input));
    const counts = compileArchive(source, target, job.layout, job.prefix).toJs(
      { dict_converter: Object.fromEntries });
    writeFileSync(job.output + ".partial", pyodide.FS.readFile(target));
    renameSync(job.output + ".partial", job.output);
    results.push({ output: job.output, ...counts });
  }
  const facts = pyodide.runPython(
    "import sys, importlib.util; (sys.implementation.cache_tag, importlib.util.MAGIC_NUMBER.hex())",
  ).toJs();
  console.log(JSON.stringify({ cache_tag: facts[0], magic: facts[1], jobs: results }));
}

main(process.argv.slice(2)).catch((error) => {
  console.error(`compile_pyc: ${error.stack || error}`);
  process.exit(1);
});
