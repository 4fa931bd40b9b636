/**
 * Connecting to Temporal with the configured settings (address, namespace, TLS, API
 * key), the same way in the worker, the API and the tests, and making sure the search
 * attributes the workflows set exist.
 */
import { Connection, type ConnectionOptions } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import { SearchAttributeType } from '@temporalio/common';
import { SA } from '../workflows/searchAttributes';
import type { TemporalSettings } from './index';

function tlsOption(t: TemporalSettings): ConnectionOptions['tls'] {
  if (!t.tls) return undefined;
  const { serverName, serverRootCaCert, clientCert, clientKey } = t.tls;
  return {
    ...(serverName ? { serverNameOverride: serverName } : {}),
    ...(serverRootCaCert ? { serverRootCACertificate: serverRootCaCert } : {}),
    ...(clientCert && clientKey ? { clientCertPair: { crt: clientCert, key: clientKey } } : {}),
  };
}

export function clientConnectionOptions(t: TemporalSettings): ConnectionOptions {
  const tls = tlsOption(t);
  return { address: t.address, ...(tls ? { tls } : {}), ...(t.apiKey ? { apiKey: t.apiKey } : {}) };
}

export function workerConnectionOptions(t: TemporalSettings): NativeConnectionOptions {
  const tls = tlsOption(t);
  return { address: t.address, ...(tls ? { tls } : {}), ...(t.apiKey ? { apiKey: t.apiKey } : {}) };
}

export const connectClient = (t: TemporalSettings) => Connection.connect(clientConnectionOptions(t));
export const connectWorker = (t: TemporalSettings) => NativeConnection.connect(workerConnectionOptions(t));

/**
 * Registers simlab's search attributes when missing. Workflows upsert them, and a
 * workflow task that names an unknown attribute fails for ever, so the worker makes sure
 * before it polls. (On Temporal Cloud, attributes are added through its own console.)
 */
/** temporal.api.enums.v1.IndexedValueType of the attribute types simlab uses. */
const INDEXED_VALUE_TYPE: Record<(typeof SA)[keyof typeof SA]['type'], number> = {
  [SearchAttributeType.KEYWORD]: 2,
  [SearchAttributeType.INT]: 3,
};

export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = Object.values(SA).filter((k) => !known.has(k.name));
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((k) => [k.name, INDEXED_VALUE_TYPE[k.type]])),
  });
}
