/** Runs the CLI in this process against a harness's API, with a config file of its own. */
import * as path from 'node:path';
import { main as cli } from '../../cli/main';
import type { Harness } from './harness';

export type Simlab = (...argv: string[]) => Promise<{ code: number; out: string; err: string }>;

export function cliFor(h: () => Harness, configDir: () => string, env: () => Record<string, string> = () => ({})): Simlab {
  return async (...argv) => {
    const saved = { ...process.env };
    process.env.SIMLAB_CONFIG = path.join(configDir(), 'config.json');
    process.env.SIMLAB_API_URL = h().baseUrl;
    process.env.SIMLAB_API_KEY = h().org.apiKey;
    process.env.SIMLAB_WATCH_INTERVAL_MS = '250';
    Object.assign(process.env, env());
    const out: string[] = [];
    const err: string[] = [];
    try {
      const code = await cli(
        argv,
        (s) => void out.push(s),
        (s) => void err.push(s),
      );
      return { code, out: out.join('\n'), err: err.join('\n') };
    } finally {
      process.env = saved;
    }
  };
}

/** `simlab … --format json`, parsed; any exit but 0 fails the test with what the CLI said. */
export function jsonCli(simlab: Simlab): (...argv: string[]) => Promise<any> {
  return async (...argv) => {
    const r = await simlab(...argv, '--format', 'json');
    if (r.code !== 0) throw new Error(`simlab ${argv.join(' ')} exited ${r.code}: ${r.err}\n${r.out}`);
    return JSON.parse(r.out);
  };
}
