/**
 * The dashboard's routes: every screen is a URL, so any page can be shared or reloaded.
 * Pure (no DOM): matched against location.pathname by the app, and unit-tested.
 */
export type Route =
  | { page: 'signin'; next?: string }
  | { page: 'home' }
  | { page: 'runs'; product: string }
  | { page: 'experiments'; product: string }
  | { page: 'tasks'; product: string }
  | { page: 'environments'; product: string }
  | { page: 'run'; id: string }
  | { page: 'iteration'; id: string }
  | { page: 'experiment'; id: string }
  | { page: 'results'; id: string; number: number; compare?: number }
  | { page: 'task'; id: string }
  | { page: 'environment'; id: string }
  | { page: 'notfound'; path: string };

const LISTS = ['runs', 'experiments', 'tasks', 'environments'] as const;
const OBJECTS: Record<string, Route['page']> = { runs: 'run', iterations: 'iteration', experiments: 'experiment', tasks: 'task', environments: 'environment' };

function decode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

export function matchRoute(pathname: string, search = ''): Route {
  const raw = pathname.split('/').slice(1);
  if (raw[raw.length - 1] === '') raw.pop();
  const parts = raw.map(decode);
  if (parts.some((p) => p === null || p === '')) return { page: 'notfound', path: pathname };
  const [a, b, c, ...rest] = parts as string[];
  if (!a) return { page: 'home' };
  if (a === 'signin' && !b) {
    const next = new URLSearchParams(search).get('next');
    // Only a path of this site: never an open redirect to another origin.
    return next && /^\/(?!\/)/.test(next) && !next.includes('\\') ? { page: 'signin', next } : { page: 'signin' };
  }
  if (a === 'p' && b && !rest.length) {
    if (!c) return { page: 'runs', product: b };
    if ((LISTS as readonly string[]).includes(c)) return { page: c as (typeof LISTS)[number], product: b };
  }
  if (a === 'experiments' && b && c === 'iterations' && rest.length === 1 && /^[1-9]\d{0,8}$/.test(rest[0]!)) {
    const compare = new URLSearchParams(search).get('compare');
    const route: Route = { page: 'results', id: b, number: Number(rest[0]) };
    return compare && /^[1-9]\d{0,8}$/.test(compare) ? { ...route, compare: Number(compare) } : route;
  }
  const page = OBJECTS[a];
  if (page && b && !c) return { page, id: b } as Route;
  return { page: 'notfound', path: pathname };
}

const enc = encodeURIComponent;

/** The URL of a screen: the one place links are built. */
export const href = {
  runs: (product: string) => `/p/${enc(product)}/runs`,
  experiments: (product: string) => `/p/${enc(product)}/experiments`,
  tasks: (product: string) => `/p/${enc(product)}/tasks`,
  environments: (product: string) => `/p/${enc(product)}/environments`,
  run: (id: string) => `/runs/${enc(id)}`,
  iteration: (id: string) => `/iterations/${enc(id)}`,
  experiment: (id: string) => `/experiments/${enc(id)}`,
  results: (id: string, n: number, compare?: number) => `/experiments/${enc(id)}/iterations/${n}${compare ? `?compare=${compare}` : ''}`,
  task: (id: string) => `/tasks/${enc(id)}`,
  environment: (id: string) => `/environments/${enc(id)}`,
  signin: (next?: string) => (next && next !== '/' ? `/signin?next=${enc(next)}` : '/signin'),
};
