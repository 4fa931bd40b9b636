/**
 * The simlab client library for runs of the `external` harness: the agent lives in the
 * caller's process and drives the run's sandbox through the API.
 *
 *   const simlab = new Simlab({ apiUrl, apiKey, product });
 *   const run = await simlab.runs.start({ taskId, environmentId });
 *   await run.awaitEnvReady();
 *   const { exitCode, stdout } = await run.devbox.cmd.exec('ls -la');
 *   await run.devbox.file.write('notes.txt', 'hello');
 *   await run.scoreAndComplete();
 *   console.log(await run.getScore());
 */
import * as fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { ZipFile } from 'yazl';
import { Api, ApiError } from './http';
import type { ExecResponse, ExternalState, ReadFileResponse, WriteFileResponse } from '../workflows/external';

export { ApiError } from './http';
export type { ExecResponse, ExternalState } from '../workflows/external';

export interface SimlabOptions {
  apiUrl: string;
  apiKey: string;
  /** The product's slug: needed only by calls under a product. */
  product?: string;
}

export interface WaitOptions {
  /** Give up after this long (default 10 minutes). */
  timeoutMs?: number;
  /** How often to ask (default 500 ms). */
  pollMs?: number;
}

/** What GET /v1/runs/:id answers (the fields this library relies on; the rest is kept). */
export interface RunInfo {
  id: string;
  status: string;
  score: number | null;
  passed: boolean | null;
  failure: { category: string; message: string } | null;
  goals: GoalResult[];
  [field: string]: unknown;
}

export interface CriterionResult {
  name: string;
  evaluationType: string;
  score: number | null;
  passed: boolean | null;
  evidence?: string | null;
  [field: string]: unknown;
}

export interface GoalResult {
  name: string;
  score: number | null;
  passed: boolean | null;
  criteria: CriterionResult[];
  [field: string]: unknown;
}

export interface RunScore {
  score: number | null;
  passed: boolean | null;
  goals: GoalResult[];
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Simlab {
  readonly api: Api;
  readonly runs: {
    /** Queues one run of the task on the environment (an `external` one) and returns it. */
    start(opts: { taskId: string; environmentId: string }): Promise<ScenarioRun>;
    /** A run started elsewhere. */
    fromId(runId: string): ScenarioRun;
  };

  constructor(opts: SimlabOptions) {
    this.api = new Api({ apiUrl: opts.apiUrl, apiKey: opts.apiKey, ...(opts.product ? { product: opts.product } : {}) });
    this.runs = {
      start: async ({ taskId, environmentId }) => {
        const res = await this.api.request<{ runIds: string[] }>('POST', `/tasks/${encodeURIComponent(taskId)}/runs`, { environmentIds: [environmentId] });
        const id = res.runIds[0];
        if (!id) throw new ApiError(0, 'bad_response', 'the API queued no run');
        return new ScenarioRun(this.api, id);
      },
      fromId: (runId) => new ScenarioRun(this.api, runId),
    };
  }
}

export class ScenarioRun {
  /** The run's sandbox, as the agent would use it: commands as the agent user, paths relative to its home. */
  readonly devbox: {
    cmd: { exec(command: string, opts?: { timeoutSeconds?: number }): Promise<ExecResponse> };
    file: {
      /** Writes text (UTF-8) or bytes, at most 1 MiB; parent directories are created. */
      write(path: string, content: string | Buffer): Promise<WriteFileResponse>;
      /** A file as UTF-8 text (at most 1 MiB). */
      read(path: string): Promise<string>;
      readBytes(path: string): Promise<Buffer>;
    };
  };

  constructor(
    private readonly api: Api,
    readonly id: string,
  ) {
    const base = `/runs/${encodeURIComponent(id)}/external`;
    const readBytes = async (path: string) => Buffer.from((await api.request<ReadFileResponse>('POST', `${base}/read-file`, { path })).contentBase64, 'base64');
    this.devbox = {
      cmd: {
        exec: (command, opts = {}) => api.request<ExecResponse>('POST', `${base}/exec`, { command, ...(opts.timeoutSeconds !== undefined ? { timeoutSeconds: opts.timeoutSeconds } : {}) }),
      },
      file: {
        write: (path, content) =>
          api.request<WriteFileResponse>('POST', `${base}/write-file`, { path, contentBase64: (typeof content === 'string' ? Buffer.from(content, 'utf8') : content).toString('base64') }),
        read: async (path) => (await readBytes(path)).toString('utf8'),
        readBytes,
      },
    };
  }

  private get base() {
    return `/runs/${encodeURIComponent(this.id)}`;
  }

  /** The run, as GET /v1/runs/:id has it. */
  getInfo(): Promise<RunInfo> {
    return this.api.request<RunInfo>('GET', this.base);
  }

  /** What the run's workflow says of the client's side: ready, scoring, scored, ended. */
  getState(): Promise<ExternalState & { id: string; status: string }> {
    return this.api.request('GET', `${this.base}/external`);
  }

  /** Waits until the sandbox is provisioned and the run waits for requests. */
  async awaitEnvReady(opts: WaitOptions = {}): Promise<RunInfo> {
    await this.waitFor('its sandbox to be ready', (s) => s.ready, opts);
    return this.getInfo();
  }

  /** Asks for scoring; it runs in the background (awaitScored waits for it). */
  async score(): Promise<RunInfo> {
    await this.api.request('POST', `${this.base}/external/score`, {});
    return this.getInfo();
  }

  async awaitScored(opts: WaitOptions = {}): Promise<RunInfo> {
    await this.waitFor('it to be scored', (s) => s.scored, opts);
    return this.getInfo();
  }

  async scoreAndAwait(opts: WaitOptions = {}): Promise<RunInfo> {
    await this.score();
    return this.awaitScored(opts);
  }

  /** The recommended ending: score, wait for the verdict, complete (the sandbox is archived and destroyed). */
  async scoreAndComplete(opts: WaitOptions = {}): Promise<RunInfo> {
    await this.scoreAndAwait(opts);
    return this.complete();
  }

  /** Ends a scored run as completed; answers once its sandbox is archived and destroyed. */
  async complete(): Promise<RunInfo> {
    await this.api.request('POST', `${this.base}/external/complete`, {});
    return this.getInfo();
  }

  /** Ends the run as cancelled, whatever its state; answers once it has ended. */
  async cancel(opts: WaitOptions = {}): Promise<RunInfo> {
    try {
      await this.api.request('POST', `${this.base}/external/cancel`, {});
      return this.getInfo();
    } catch (err) {
      // Not ready yet (queued, provisioning): only cancelling its workflow ends it then.
      if (!(err instanceof ApiError) || err.status !== 409 || err.code !== 'not_accepted') throw err;
    }
    await this.api.request('POST', `${this.base}/cancel`, {});
    return this.waitForRun((r) => TERMINAL.has(r.status), opts);
  }

  /** The verdict per goal and criterion, or null when the run has not been scored. */
  async getScore(): Promise<RunScore | null> {
    const info = await this.getInfo();
    if (info.score === null && info.passed === null && info.goals.length === 0) return null;
    return { score: info.score, passed: info.passed, goals: info.goals };
  }

  /**
   * Writes a zip of the run's logs: the archive of the agent's home (once the run has
   * ended), the transcript (JSON lines) and the agent log. Missing artifacts are left out.
   */
  async downloadLogs(path: string): Promise<{ entries: string[] }> {
    const wanted: [string, string][] = [
      ['archive', 'home.tar.gz'],
      ['transcript', 'transcript.jsonl'],
      ['agent-log', 'agent.log'],
    ];
    const zip = new ZipFile();
    const entries: string[] = [];
    for (const [artifact, name] of wanted) {
      const bytes = await this.api.download(`${this.base}/artifacts/${artifact}`);
      if (!bytes) continue;
      zip.addBuffer(bytes, `${this.id}/${name}`);
      entries.push(`${this.id}/${name}`);
    }
    zip.end();
    await pipeline(zip.outputStream, fs.createWriteStream(path));
    return { entries };
  }

  private async waitFor(what: string, done: (s: ExternalState & { status: string }) => boolean, opts: WaitOptions): Promise<void> {
    const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
    for (;;) {
      const s = await this.getState();
      if (done(s)) return;
      if (s.ended || TERMINAL.has(s.status)) {
        const info = await this.getInfo();
        throw new ApiError(409, 'run_finished', `run ${this.id} ended (${info.status}${info.failure ? `: ${info.failure.message}` : ''}) before ${what}`);
      }
      if (Date.now() > deadline) throw new ApiError(0, 'timeout', `run ${this.id} is still ${s.status}: gave up waiting for ${what} after ${opts.timeoutMs ?? 600_000} ms`);
      await sleep(opts.pollMs ?? 500);
    }
  }

  private async waitForRun(done: (r: RunInfo) => boolean, opts: WaitOptions): Promise<RunInfo> {
    const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
    for (;;) {
      const r = await this.getInfo();
      if (done(r)) return r;
      if (Date.now() > deadline) throw new ApiError(0, 'timeout', `run ${this.id} is still ${r.status} after ${opts.timeoutMs ?? 600_000} ms`);
      await sleep(opts.pollMs ?? 500);
    }
  }
}
