/**
 * The dashboard's one way to the server: the /v1 JSON API, authenticated by the session
 * cookie (sent by the browser, never seen by this code) and marked with the dashboard's
 * header, which the server requires on every request that changes something (CSRF).
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** Fired when the server says the session is gone: the app goes back to the sign-in page. */
export const SIGNED_OUT_EVENT = 'simlab:signed-out';

export async function api<T = any>(method: string, path: string, opts: { body?: unknown; bearer?: string } = {}): Promise<T> {
  const headers: Record<string, string> = { 'x-simlab-dashboard': '1', accept: 'application/json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`;
  const res = await fetch(`/v1${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(res.status, 'bad_response', `the server answered ${res.status} with something that is not JSON`);
  }
  if (!res.ok) {
    const err = new ApiError(res.status, json?.error?.code ?? 'error', json?.error?.message ?? `HTTP ${res.status}`);
    if (res.status === 401 && !opts.bearer) window.dispatchEvent(new CustomEvent(SIGNED_OUT_EVENT));
    throw err;
  }
  return json as T;
}

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * GETs a path (null: nothing yet) and re-GETs it every `pollMs` while `poll(data)` says the
 * thing is still live, so a page follows a running iteration or run without reloading.
 */
export function useApi<T = any>(path: string | null, opts: { pollMs?: number; poll?: (d: T) => boolean } = {}): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean; path: string | null }>({ loading: path !== null, path });
  const [tick, setTick] = useState(0);
  const pollRef = useRef(opts.poll);
  pollRef.current = opts.poll;
  useEffect(() => {
    if (path === null) return;
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async (first: boolean) => {
      if (first) setState((s) => ({ data: s.path === path ? s.data : undefined, loading: true, path }));
      try {
        const data = await api<T>('GET', path);
        if (!alive) return;
        setState({ data, loading: false, path });
        if (opts.pollMs && pollRef.current?.(data)) timer = setTimeout(() => load(false), opts.pollMs);
      } catch (e) {
        if (!alive) return;
        const error = e instanceof ApiError ? e : new ApiError(0, 'network', (e as Error).message);
        setState((s) => ({ data: first ? undefined : s.data, error, loading: false, path }));
        // A dropped connection while following something live: try again shortly.
        if (!first && opts.pollMs && error.status === 0) timer = setTimeout(() => load(false), opts.pollMs * 2);
      }
    };
    load(true);
    return () => {
      alive = false;
      if (timer) clearTimeout(timer);
    };
  }, [path, tick, opts.pollMs]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.path === path ? state.data : undefined, error: state.path === path ? state.error : undefined, loading: state.loading, reload };
}
