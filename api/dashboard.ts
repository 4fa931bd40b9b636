/**
 * The web dashboard, served by the API server itself at `/`: the bundle esbuild wrote to
 * dist/dashboard (dashboard/build.mjs), and index.html for every page path so that each
 * screen's URL can be opened directly. The pages call the /v1 API with the session cookie.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import express, { Router, type Response } from 'express';

/** The repository root, whether this runs from api/ (ts-jest) or dist/api/ (compiled). */
function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

export const DASHBOARD_DIR = path.join(repoRoot(), 'dist', 'dashboard');

/** Nothing but our own files: no inline script, no other origin, no framing. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function securityHeaders(res: Response) {
  res.setHeader('content-security-policy', CSP);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'same-origin');
  res.setHeader('x-frame-options', 'DENY');
}

/** Paths the dashboard's router knows; anything else is the API's 404. */
const PAGE = /^\/(?:signin|p\/[^/]+(?:\/(?:runs|experiments|tasks|environments))?|(?:runs|iterations|experiments|tasks|environments)\/[^/]+|experiments\/[^/]+\/iterations\/\d+)?\/?$/;

export function dashboardRoutes(dir = DASHBOARD_DIR): Router {
  const r = Router();
  // Bundles are named by content hash: cached for good. index.html never is.
  r.use('/assets', express.static(path.join(dir, 'assets'), { immutable: true, maxAge: '365d', index: false, fallthrough: false }));
  r.get(PAGE, (_req, res) => {
    securityHeaders(res);
    res.setHeader('cache-control', 'no-cache');
    const index = path.join(dir, 'index.html');
    if (!fs.existsSync(index)) {
      res.status(503).type('text/plain').send('The dashboard is not built: run `npm run build` (or `node dashboard/build.mjs`).\n');
      return;
    }
    res.sendFile(index);
  });
  return r;
}
