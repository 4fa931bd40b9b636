'use strict';
// Loads Prisma's schema engine compiled to WebAssembly.
//
// Why by hand: @prisma/schema-engine-wasm is ESM whose entry does
// `import * as wasm from "./schema_engine_bg.wasm"`, which Node 20 cannot import.
// We instantiate the module ourselves and hand it to the package's JS glue.
// The .wasm comes from the prisma CLI package itself (same engine build the CLI
// was released with); the glue's import list is checked against it at load time.
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const NM = path.resolve(__dirname, '../../node_modules');
const GLUE = path.join(NM, '@prisma/schema-engine-wasm/schema_engine_bg.js');
const WASM_CANDIDATES = [
  path.join(NM, 'prisma/build/schema_engine_bg.wasm'),
  path.join(NM, '@prisma/schema-engine-wasm/schema_engine_bg.wasm'),
];

// The wasm panic hook writes the panic message here (same object the CLI installs).
class PanicRegistry {
  message = '';
  get() { return `${this.message}`; }
  set_message(m) { this.message = `RuntimeError: ${m}`; }
}

let loaded;
async function loadSchemaEngine() {
  if (loaded) return loaded;
  globalThis.PRISMA_WASM_PANIC_REGISTRY ??= new PanicRegistry();
  const glue = await import(pathToFileURL(GLUE).href);
  let lastErr;
  for (const file of WASM_CANDIDATES) {
    if (!fs.existsSync(file)) continue;
    try {
      const module = new WebAssembly.Module(fs.readFileSync(file));
      const instance = new WebAssembly.Instance(module, { './schema_engine_bg.js': glue });
      glue.__wbg_set_wasm(instance.exports);
      instance.exports.__wbindgen_start();
      loaded = { SchemaEngine: glue.SchemaEngine, wasmFile: file, panicRegistry: globalThis.PRISMA_WASM_PANIC_REGISTRY };
      return loaded;
    } catch (e) {
      lastErr = e; // glue/wasm mismatch: try the next candidate
    }
  }
  throw lastErr ?? new Error('schema_engine_bg.wasm not found under ' + NM);
}

module.exports = { loadSchemaEngine };
