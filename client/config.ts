/** The client's config file (the CLI's): API URL, key and active product. Environment variables override it. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface CliConfig {
  apiUrl?: string;
  apiKey?: string;
  product?: string;
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.SIMLAB_CONFIG ?? path.join(env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), 'simlab', 'config.json');
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): CliConfig {
  const p = configPath(env);
  let file: CliConfig = {};
  if (fs.existsSync(p)) {
    try {
      file = JSON.parse(fs.readFileSync(p, 'utf8')) as CliConfig;
    } catch (err) {
      throw new Error(`${p}: not valid JSON (${(err as Error).message})`);
    }
  }
  return {
    apiUrl: env.SIMLAB_API_URL ?? file.apiUrl ?? 'http://127.0.0.1:8080',
    ...((env.SIMLAB_API_KEY ?? file.apiKey) ? { apiKey: env.SIMLAB_API_KEY ?? file.apiKey } : {}),
    ...((env.SIMLAB_PRODUCT ?? file.product) ? { product: env.SIMLAB_PRODUCT ?? file.product } : {}),
  };
}

/** Merges into the file (not the environment), readable by its owner only: it holds a key. */
export function writeConfig(patch: CliConfig, env: NodeJS.ProcessEnv = process.env): string {
  const p = configPath(env);
  let file: CliConfig = {};
  if (fs.existsSync(p)) file = JSON.parse(fs.readFileSync(p, 'utf8')) as CliConfig;
  fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o700 });
  fs.writeFileSync(p, `${JSON.stringify({ ...file, ...patch }, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(p, 0o600);
  return p;
}
