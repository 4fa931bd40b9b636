/** The dashboard app: sign-in, the header (product switcher, navigation, sign-out) and one screen per URL. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './styles.css';
import { api, ApiError, SIGNED_OUT_EVENT } from './api';
import { href, matchRoute, type Route } from './router';
import { navigate, useLocation } from './navigation';
import { Ctx, lastProduct, rememberProduct, type Session } from './session';
import { Link, Loading, NotFound } from './components';
import { SignIn } from './pages/SignIn';
import { RunsPage } from './pages/Runs';
import { RunPage } from './pages/Run';
import { IterationPage } from './pages/Iteration';
import { ExperimentsPage, ExperimentPage } from './pages/Experiments';
import { ResultsPage } from './pages/Results';
import { TasksPage, TaskPage } from './pages/Tasks';
import { EnvironmentsPage, EnvironmentPage } from './pages/Environments';

const TITLES: Record<Route['page'], string> = {
  signin: 'Sign in',
  home: 'simlab',
  runs: 'Runs',
  experiments: 'Experiments',
  tasks: 'Tasks',
  environments: 'Environments',
  run: 'Run',
  iteration: 'Iteration',
  experiment: 'Experiment',
  results: 'Iteration results',
  task: 'Task',
  environment: 'Environment',
  notfound: 'Not found',
};

function App() {
  const loc = useLocation();
  const route = matchRoute(loc.pathname, loc.search);
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [objectProduct, setObjectProduct] = useState<string | undefined>();

  const loadSession = () =>
    api<Session>('GET', '/session')
      .then(setSession)
      .catch((e: ApiError) => setSession(e.status === 401 ? null : undefined));

  useEffect(() => {
    // The sign-in page asks nothing: a signed-out browser's question would count as a failed
    // authentication against its address (api/auth.ts limits those).
    if (route.page === 'signin') setSession(null);
    else loadSession();
    const out = () => setSession(null);
    window.addEventListener(SIGNED_OUT_EVENT, out);
    return () => window.removeEventListener(SIGNED_OUT_EVENT, out);
  }, []);

  useEffect(() => {
    document.title = `${TITLES[route.page]} · simlab`;
    setObjectProduct(undefined);
  }, [loc.pathname]);

  // Signed out: every page but the sign-in sends there, and comes back after.
  useEffect(() => {
    if (session === null && route.page !== 'signin') navigate(href.signin(loc.pathname + loc.search), { replace: true });
  }, [session, route.page]);

  if (route.page === 'signin') {
    return (
      <SignIn
        onSignedIn={(s) => {
          setSession(s);
          navigate(route.next ?? '/', { replace: true });
        }}
      />
    );
  }
  if (session === undefined) return <Loading what="your session" />;
  if (session === null) return null;

  const productFromUrl = 'product' in route ? session.products.find((p) => p.slug === route.product) : undefined;
  if (route.page === 'home') {
    const slug = session.products.find((p) => p.slug === lastProduct())?.slug ?? session.products[0]?.slug;
    if (slug) queueMicrotask(() => navigate(href.runs(slug), { replace: true }));
    return <Loading what="the dashboard" />;
  }
  const product = productFromUrl ?? session.products.find((p) => p.id === objectProduct);
  const listKind = ['runs', 'experiments', 'tasks', 'environments'].includes(route.page) ? (route.page as 'runs') : 'runs';

  const signOut = async () => {
    await api('DELETE', '/session').catch(() => undefined);
    setSession(null);
  };

  let screen;
  if ('product' in route && !productFromUrl) screen = <NotFound what={`product '${route.product}'`} />;
  else
    switch (route.page) {
      case 'runs': screen = <RunsPage product={productFromUrl!} />; break;
      case 'experiments': screen = <ExperimentsPage product={productFromUrl!} />; break;
      case 'tasks': screen = <TasksPage product={productFromUrl!} />; break;
      case 'environments': screen = <EnvironmentsPage product={productFromUrl!} />; break;
      case 'run': screen = <RunPage id={route.id} />; break;
      case 'iteration': screen = <IterationPage id={route.id} />; break;
      case 'experiment': screen = <ExperimentPage id={route.id} />; break;
      case 'results': screen = <ResultsPage id={route.id} number={route.number} compare={route.compare} />; break;
      case 'task': screen = <TaskPage id={route.id} />; break;
      case 'environment': screen = <EnvironmentPage id={route.id} />; break;
      default: screen = <NotFound what="page" />;
    }

  return (
    <Ctx.Provider value={{ session, product, showProduct: setObjectProduct }}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href={product ? href.runs(product.slug) : '/'} class="brand">
          simlab
        </Link>
        <label class="switcher">
          <span>Product</span>
          <select
            aria-label="Product"
            value={product?.slug ?? ''}
            onChange={(e) => {
              const slug = (e.target as HTMLSelectElement).value;
              rememberProduct(slug);
              navigate(href[listKind](slug));
            }}
          >
            {!product && <option value="">choose…</option>}
            {session.products.map((p) => (
              <option key={p.id} value={p.slug} title={p.slug}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        {product && (
          <nav aria-label="Sections" class="sections">
            {(['runs', 'experiments', 'tasks', 'environments'] as const).map((k) => (
              <Link key={k} href={href[k](product.slug)} aria-current={route.page === k ? 'page' : undefined}>
                {k[0]!.toUpperCase() + k.slice(1)}
              </Link>
            ))}
          </nav>
        )}
        <div class="who">
          <span title={`API key ${session.apiKey.name} (${session.apiKey.prefix}…)`}>{session.organization.name}</span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {screen}
      </main>
    </Ctx.Provider>
  );
}

render(<App />, document.getElementById('app')!);
