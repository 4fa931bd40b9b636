/** Task and environment names for tables that hold only ids: one list request per product, cached. */
import { useEffect, useState } from 'preact/hooks';
import { api } from './api';

const cache = new Map<string, Promise<Map<string, string>>>();

export function useNames(productSlug: string | undefined): Map<string, string> {
  const [names, setNames] = useState<Map<string, string>>(new Map());
  useEffect(() => {
    if (!productSlug) return;
    let p = cache.get(productSlug);
    if (!p) {
      p = Promise.all([
        api<{ items: { id: string; name: string }[] }>('GET', `/products/${encodeURIComponent(productSlug)}/tasks?limit=1000`),
        api<{ items: { id: string; name: string }[] }>('GET', `/products/${encodeURIComponent(productSlug)}/environments?limit=1000`),
      ]).then(([t, e]) => new Map([...t.items, ...e.items].map((x) => [x.id, x.name])));
      p.catch(() => cache.delete(productSlug!));
      cache.set(productSlug, p);
      // A name list goes stale as tasks are created: refetched after a minute.
      setTimeout(() => cache.delete(productSlug!), 60_000);
    }
    let alive = true;
    p.then((m) => alive && setNames(m)).catch(() => undefined);
    return () => {
      alive = false;
    };
  }, [productSlug]);
  return names;
}
