/**
 * One POST of a webhook: no redirects followed, a deadline for the whole exchange, the
 * connected address checked against the private-target policy, and at most a little of
 * the response read (only its status matters).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { guardedLookup, WebhookTargetRefused } from './webhookTarget';

export interface PostResult {
  httpStatus: number | null;
  /** Why there is no 2xx: a network error, a timeout, a refused target. Never the secret or the URL's path. */
  error: string | null;
  refused: boolean;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

export function postWebhook(input: { url: string; body: string; headers: Record<string, string>; allowPrivateTargets: boolean; timeoutMs: number }): Promise<PostResult> {
  const url = new URL(input.url);
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = mod.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(input.body), 'user-agent': 'simlab-webhooks/1', ...input.headers },
        lookup: guardedLookup(input.allowPrivateTargets),
        agent: false,
      },
      (res) => {
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) res.destroy();
        });
        const status = res.statusCode ?? null;
        const ok = status !== null && status >= 200 && status < 300;
        res.on('end', () => done({ httpStatus: status, error: ok ? null : `HTTP ${status}`, refused: false }));
        res.on('close', () => done({ httpStatus: status, error: ok ? null : `HTTP ${status}`, refused: false }));
        res.on('error', () => done({ httpStatus: status, error: ok ? null : `HTTP ${status}`, refused: false }));
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      done({ httpStatus: null, error: `no response from ${url.host} within ${input.timeoutMs} ms`, refused: false });
    }, input.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof WebhookTargetRefused || err.name === 'WebhookTargetRefused') return done({ httpStatus: null, error: err.message, refused: true });
      done({ httpStatus: null, error: `${url.host}: ${err.code ?? err.message}`, refused: false });
    });
    req.end(input.body);
  });
}
