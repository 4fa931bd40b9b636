/** Environments: the list, and one environment's definition and recent runs. */
import { useApi } from '../api';
import { Failure, Field, Json, Link, Listing, Loading, Retired } from '../components';
import { href } from '../router';
import { useProductObject, type Product } from '../session';
import { RunsTable } from './Runs';
import * as fmt from '../format';

export function EnvironmentsPage({ product }: { product: Product }) {
  const list = useApi<{ items: any[] }>(`/products/${encodeURIComponent(product.slug)}/environments?limit=1000`);
  return (
    <>
      <h1>Environments</h1>
      <Listing
        loaded={list}
        what="environments"
        caption={`Environments of ${product.name}`}
        columns={[{ label: 'Name' }, { label: 'Harness' }, { label: 'Image' }, { label: 'Enabled' }, { label: 'Version', num: true }, { label: 'Updated' }]}
        empty="No environments yet: simlab env create --file env.json"
        row={(e: any) => (
          <tr key={e.id}>
            <td>
              <Link href={href.environment(e.id)}>{e.name}</Link>
            </td>
            <td>{e.definition?.agent?.harness ?? '–'}</td>
            <td>
              <code>{e.definition?.image ?? '–'}</code>
            </td>
            <td>{e.enabled ? 'yes' : 'no'}</td>
            <td class="num">{e.version}</td>
            <td>{fmt.time(e.updatedAt)}</td>
          </tr>
        )}
      />
    </>
  );
}

export function EnvironmentPage({ id }: { id: string }) {
  const env = useProductObject<any>(`/environments/${encodeURIComponent(id)}`);
  const slug = env.slug;
  if (env.error) return <Failure error={env.error} what={`environment '${id}'`} />;
  if (!env.data) return <Loading what="the environment" />;
  const e = env.data;
  const d = e.definition;
  return (
    <>
      <h1>{e.name}</h1>
      {e.retired && <Retired at={e.retiredAt} />}
      <dl class="facts">
        <Field label="Harness">{d.agent?.harness}</Field>
        {d.agent?.command && (
          <Field label="Command">
            <code class="wrap">{d.agent.command}</code>
          </Field>
        )}
        {d.agent?.model && <Field label="Model">{d.agent.model}</Field>}
        <Field label="Image">
          <code>{d.image}</code>
        </Field>
        <Field label="Resources">
          {d.resources ? `${d.resources.cpus ?? '–'} CPUs · ${d.resources.memoryMb ?? '–'} MB · ${d.resources.pids ?? '–'} pids${d.resources.diskMb ? ` · ${d.resources.diskMb} MB disk` : ''}` : '–'}
        </Field>
        <Field label="Network">{d.network?.enabled ? 'enabled' : 'off'}</Field>
        <Field label="Enabled">{e.enabled ? 'yes' : 'no'}</Field>
        <Field label="Version">{e.version}</Field>
        <Field label="Updated">{fmt.time(e.updatedAt)}</Field>
      </dl>
      <section aria-labelledby="edef-h">
        <h2 id="edef-h">Definition</h2>
        <details>
          <summary>The stored definition (version {e.version})</summary>
          <Json value={d} />
        </details>
      </section>
      {slug && (
        <section aria-labelledby="eruns-h">
          <h2 id="eruns-h">Runs on this environment</h2>
          <RunsTable productSlug={slug} filter={{ environmentId: e.id }} pageSize={10} caption={`Runs on ${e.name}`} />
        </section>
      )}
      <p>
        <Link href={slug ? href.environments(slug) : '/'}>All environments</Link>
      </p>
    </>
  );
}
