// Bundles the dashboard (dashboard/src, Preact + TSX) into dist/dashboard with esbuild:
// assets named by content hash and an index.html that loads them. Nothing is fetched at
// run time from anywhere but the API server itself. Run by `npm run build` and by
// quickstart and the tests; rebuilding is cheap (well under a second) and gives the same
// output for the same sources.
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, '..', 'dist', 'dashboard');
const assets = path.join(out, 'assets');

const result = await esbuild.build({
  entryPoints: { app: path.join(here, 'src', 'main.tsx') },
  bundle: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: 'linked',
  entryNames: '[name]-[hash]',
  outdir: assets,
  metafile: true,
  write: false,
  logLevel: 'warning',
  legalComments: 'none',
});

// A server may be serving this folder while it is rebuilt (tests build it before they start):
// every file is written under a temporary name and renamed, so a reader never sees half a file,
// and assets (named by content) of earlier builds are removed only once they are an hour old.
const writeAtomic = (file, contents) => {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, contents);
  fs.renameSync(tmp, file);
};
fs.mkdirSync(assets, { recursive: true });
for (const f of result.outputFiles) writeAtomic(f.path, f.contents);
const names = result.outputFiles.map((f) => path.basename(f.path));
for (const old of fs.readdirSync(assets)) {
  const file = path.join(assets, old);
  if (!names.includes(old) && Date.now() - fs.statSync(file).mtimeMs > 3600_000) fs.rmSync(file, { force: true });
}
const js = names.find((n) => n.endsWith('.js'));
const css = names.find((n) => n.endsWith('.css'));
writeAtomic(
  path.join(out, 'index.html'),
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>simlab</title>
${css ? `<link rel="stylesheet" href="/assets/${css}">` : ''}
<script type="module" src="/assets/${js}"></script>
</head>
<body><div id="app"></div></body>
</html>
`,
);
const bytes = result.outputFiles.filter((f) => !f.path.endsWith('.map')).reduce((n, f) => n + f.contents.length, 0);
console.log(`[dashboard] built ${path.relative(process.cwd(), out) || out} (${names.filter((n) => !n.endsWith('.map')).join(', ')}; ${(bytes / 1024).toFixed(1)} KiB)`);
