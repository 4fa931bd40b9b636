/** The real worker, started as it is deployed (bin/simlab-worker runs dist/workers/main.js, built by the test command), on a harness's queues. */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Harness } from './harness';
import { testEnv } from './env';

/** From the sources (ts-jest) or from dist/ (the chaos CLI): the folder that holds package.json. */
export function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = up;
  }
  return dir;
}

export function startWorkerProcess(h: Harness, extraEnv: Record<string, string> = {}): Promise<ChildProcess> {
  const env = testEnv();
  const child = spawn(path.join(repoRoot(), 'bin', 'simlab-worker'), [], {
    env: {
      ...process.env,
      NODE: process.execPath,
      DATABASE_URL: env.databaseUrl,
      TEMPORAL_ADDRESS: env.temporalAddress,
      SIMLAB_TASK_QUEUE: h.taskQueue,
      SIMLAB_HOST_ID: h.hostId,
      SIMLAB_ARTIFACTS: h.artifactsDir,
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      if (process.env.SIMLAB_TEST_VERBOSE) process.stderr.write(d);
      if (output.includes('[worker] ready')) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`worker exited with ${code} before it was ready:\n${output}`)));
  });
}
