/**
 * The HTTP client of the simlab API (the CLI's, and a library for scripts): JSON both
 * ways, API errors turned into ApiError with the server's code, message and details.
 */
import { readWireError, WireFailure } from '../domain/wire';
import type { CliConfig } from './config';

/** What the API answered with an error (status 0: it could not be reached). */
export class ApiError extends WireFailure {}

export class Api {
  constructor(private readonly cfg: CliConfig) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.send<T>(method, path, body === undefined ? undefined : { type: 'application/json', data: JSON.stringify(body) });
  }

  /** A binary resource (an artifact), or null when the run has none. */
  async download(path: string): Promise<Buffer | null> {
    if (!this.cfg.apiKey) throw new ApiError(0, 'no_api_key', 'no API key configured: run `simlab config set --api-key KEY` or set SIMLAB_API_KEY');
    const url = `${this.cfg.apiUrl!.replace(/\/$/, '')}/v1${path}`;
    let res: Response;
    try {
      res = await fetch(url, { headers: { authorization: `Bearer ${this.cfg.apiKey}` } });
    } catch (err) {
      throw new ApiError(0, 'unreachable', `cannot reach the simlab API at ${this.cfg.apiUrl}: ${(err as Error).cause ?? (err as Error).message}`);
    }
    if (res.status === 404) {
      const e = readWireError(await res.json().catch(() => null));
      if (e?.code === 'no_artifact') return null;
      throw new ApiError(404, e?.code ?? 'not_found', e?.message ?? 'not found');
    }
    if (!res.ok) {
      const e = readWireError(await res.json().catch(() => null));
      throw new ApiError(res.status, e?.code ?? 'http_error', e?.message ?? `HTTP ${res.status}`, e?.details);
    }
    return Buffer.from(await res.arrayBuffer());
  }

  /** A binary body (an upload). */
  async upload<T>(path: string, data: Buffer, type = 'application/zip'): Promise<T> {
    return this.send<T>('POST', path, { type, data });
  }

  private async send<T>(method: string, path: string, body?: { type: string; data: string | Buffer }): Promise<T> {
    if (!this.cfg.apiKey) {
      throw new ApiError(0, 'no_api_key', 'no API key configured: run `simlab config set --api-key KEY` or set SIMLAB_API_KEY');
    }
    const url = `${this.cfg.apiUrl!.replace(/\/$/, '')}/v1${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${this.cfg.apiKey}`, ...(body ? { 'content-type': body.type } : {}) },
        ...(body ? { body: body.data } : {}),
      });
    } catch (err) {
      throw new ApiError(0, 'unreachable', `cannot reach the simlab API at ${this.cfg.apiUrl}: ${(err as Error).cause ?? (err as Error).message}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      throw new ApiError(res.status, 'bad_response', `unexpected response from ${url} (${res.status}): ${text.slice(0, 200)}`);
    }
    if (!res.ok) {
      const e = readWireError(json);
      throw new ApiError(res.status, e?.code ?? 'http_error', e?.message ?? `HTTP ${res.status}`, e?.details);
    }
    return json as T;
  }

  /** Routes under the active product. */
  productPath(rest: string): string {
    if (!this.cfg.product) {
      throw new ApiError(0, 'no_product', 'no active product: run `simlab product switch SLUG`');
    }
    return `/products/${encodeURIComponent(this.cfg.product)}${rest}`;
  }
}
