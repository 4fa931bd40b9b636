/**
 * `simlab-bootstrap`: the embedded default's first start. Creates a local organization,
 * product and API key when the database has none, and hands the key to the CLI's config
 * file (readable by its owner only). The key is shown nowhere else and stored hashed.
 */
import { createPrisma } from '../prisma/client';
import { loadConfig } from '../config';
import { readConfig, writeConfig } from '../client/config';
import { createApiKey, hashKey } from './auth';
import { createOrganization } from './tenancy';

async function main() {
  const cfg = loadConfig();
  const prisma = createPrisma(cfg.databaseUrl, { maxConnections: 1 });
  try {
    const cli = readConfig();
    const apiUrl = `http://${cfg.apiHost}:${cfg.apiPort}`;
    const org = await prisma.organization.findUnique({ where: { slug: 'local' }, include: { products: true } });
    if (!org) {
      const created = await createOrganization(prisma, { slug: 'local', name: 'Local', productSlug: 'default', productName: 'Default product' });
      const file = writeConfig({ apiUrl, apiKey: created.apiKey, product: created.productSlug });
      console.log(`[bootstrap] created organization 'local', product 'default' and an API key (saved in ${file})`);
      return;
    }
    // Keep a working key: reuse the configured one if it belongs to 'local', else issue a new one.
    const known = cli.apiKey ? await prisma.apiKey.findUnique({ where: { hash: hashKey(cli.apiKey) } }) : null;
    if (known && known.organizationId === org.id && !known.revokedAt) {
      writeConfig({ apiUrl, ...(cli.product ? {} : { product: org.products[0]?.slug ?? 'default' }) });
      return;
    }
    const { key } = await createApiKey(prisma, org.id, 'bootstrap');
    const file = writeConfig({ apiUrl, apiKey: key, product: cli.product ?? org.products[0]?.slug ?? 'default' });
    console.log(`[bootstrap] issued a new API key for organization 'local' (saved in ${file})`);
  } finally {
    await prisma.$disconnect();
  }
}

main().catch((err) => {
  console.error('[bootstrap] failed:', err);
  process.exit(1);
});
