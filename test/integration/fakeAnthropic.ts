/**
 * A local HTTP server that speaks enough of the Anthropic Messages API for the judge:
 * it records every request (so tests assert what was sent) and answers from a script of
 * responses, one per request (a status and a body), or from a responder that builds the
 * answer from the request (when it must name what only exists at run time, such as run ids).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedAnswer {
  status?: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface FakeAnthropic {
  baseURL: string;
  requests: { path: string; headers: http.IncomingHttpHeaders; body: any }[];
  /** Answers for the next requests, in order; when they run out, `fallback` answers. */
  script(answers: ScriptedAnswer[], fallback?: ScriptedAnswer): void;
  /** Answers every request from its body (and its index in `requests`) while set; undefined from it: the script answers. */
  respond(fn: ((body: any, index: number) => ScriptedAnswer | undefined) | null): void;
  close(): Promise<void>;
}

export const verdictMessage = (input: unknown, id = `toolu_${Math.random().toString(36).slice(2)}`) => ({
  id: `msg_${Math.random().toString(36).slice(2)}`,
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-6',
  stop_reason: 'tool_use',
  stop_sequence: null,
  content: [{ type: 'tool_use', id, name: 'record_verdict', input }],
  usage: { input_tokens: 1200, output_tokens: 80 },
});

export const textMessage = (text: string) => ({
  id: `msg_${Math.random().toString(36).slice(2)}`,
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-6',
  stop_reason: 'end_turn',
  stop_sequence: null,
  content: [{ type: 'text', text }],
  usage: { input_tokens: 1000, output_tokens: 20 },
});

export async function startFakeAnthropic(): Promise<FakeAnthropic> {
  let queue: ScriptedAnswer[] = [];
  let fallback: ScriptedAnswer = { status: 500, body: { type: 'error', error: { type: 'api_error', message: 'no scripted answer' } } };
  let responder: ((body: any, index: number) => ScriptedAnswer | undefined) | null = null;
  const requests: FakeAnthropic['requests'] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      const body = raw ? JSON.parse(raw) : null;
      requests.push({ path: req.url ?? '', headers: req.headers, body });
      let a: ScriptedAnswer | undefined;
      try {
        a = responder?.(body, requests.length - 1);
      } catch (err) {
        a = { status: 500, body: { type: 'error', error: { type: 'api_error', message: `the test's responder threw: ${(err as Error).message}` } } };
      }
      a ??= queue.shift() ?? fallback;
      res.writeHead(a.status ?? 200, { 'content-type': 'application/json', ...(a.headers ?? {}) });
      res.end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    script(answers, fb) {
      queue = [...answers];
      if (fb) fallback = fb;
    },
    respond(fn) {
      responder = fn;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** An assistant message with the given content blocks (thinking, text, tool_use), for the claude harness. */
export const assistantMessage = (
  content: unknown[],
  opts: { stop_reason?: string; usage?: Record<string, number> } = {},
) => ({
  id: `msg_${Math.random().toString(36).slice(2)}`,
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-6',
  stop_reason: opts.stop_reason ?? (content.some((b: any) => b?.type === 'tool_use') ? 'tool_use' : 'end_turn'),
  stop_sequence: null,
  content,
  usage: opts.usage ?? { input_tokens: 1000, output_tokens: 50 },
});

export const toolUse = (name: string, input: unknown, id = `toolu_${Math.random().toString(36).slice(2)}`) => ({ type: 'tool_use', id, name, input });

export const overloaded: ScriptedAnswer = {
  status: 529,
  body: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
  headers: { 'retry-after-ms': '50' },
};
