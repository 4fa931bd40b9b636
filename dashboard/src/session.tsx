/** Who is signed in (organization, key, products) and which product the screens show. */
import { createContext } from 'preact';
import { useContext, useEffect } from 'preact/hooks';
import { useApi } from './api';

export interface Product {
  id: string;
  slug: string;
  name: string;
}

export interface Session {
  organization: { id: string; slug: string; name: string };
  apiKey: { prefix: string; name: string };
  products: Product[];
}

export interface AppContext {
  session: Session;
  /** The product the header's switcher shows: from the URL, or from the object on screen. */
  product: Product | undefined;
  /** Object pages say which product their object belongs to. */
  showProduct: (productId: string) => void;
}

export const Ctx = createContext<AppContext>(null as unknown as AppContext);
export const useApp = () => useContext(Ctx);

/** The product's slug for API paths, by id (objects carry productId). */
export function slugOf(session: Session, productId: string | undefined): string | undefined {
  return session.products.find((p) => p.id === productId)?.slug;
}

const LAST_PRODUCT = 'simlab.product';
/** Only the product's slug is remembered in the browser: nothing secret. */
export const rememberProduct = (slug: string) => {
  try {
    localStorage.setItem(LAST_PRODUCT, slug);
  } catch {
    /* private mode: the first product is fine */
  }
};
export const lastProduct = () => {
  try {
    return localStorage.getItem(LAST_PRODUCT);
  } catch {
    return null;
  }
};

/** Object pages without a productId of their own (runs, iterations) learn it from their task. */
export function useProductOfTask(taskId: string | undefined) {
  const { showProduct } = useApp();
  const task = useApi<{ productId: string }>(taskId ? `/tasks/${encodeURIComponent(taskId)}` : null);
  useEffect(() => {
    if (task.data) showProduct(task.data.productId);
  }, [task.data?.productId]);
  return task.data?.productId;
}

/** An object of one product (task, environment, experiment): loaded, its product shown in the header, its product's slug for list paths. */
export function useProductObject<T extends { productId: string }>(path: string) {
  const { session, showProduct } = useApp();
  const obj = useApi<T>(path);
  useEffect(() => {
    if (obj.data) showProduct(obj.data.productId);
  }, [obj.data?.productId]);
  return { ...obj, slug: slugOf(session, obj.data?.productId) };
}
