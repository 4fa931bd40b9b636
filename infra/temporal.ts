/** Temporal wiring shared by the worker, the API and the tests. */
import { Connection } from '@temporalio/client';
import { SA } from '../workflows/searchAttributes';

/**
 * Registers simlab's search attributes when missing. Workflows upsert them, and a
 * workflow task that names an unknown attribute fails for ever, so the worker makes sure
 * before it polls.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = Object.values(SA).filter((k) => !known.has(k.name));
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    // 2 = INDEXED_VALUE_TYPE_KEYWORD; every simlab attribute is a keyword.
    searchAttributes: Object.fromEntries(missing.map((k) => [k.name, 2])),
  });
}
