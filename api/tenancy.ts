/** Organizations and their products: created by bootstrap and by tests, read by every request. */
import type { PrismaClient } from '../prisma/client';
import { newId } from '../domain/ids';
import { createApiKey } from './auth';
import { notFound } from './errors';

export async function createOrganization(
  prisma: PrismaClient,
  input: { slug: string; name: string; productSlug?: string; productName?: string },
): Promise<{ organizationId: string; productId: string; productSlug: string; apiKey: string }> {
  const organizationId = newId('org');
  const productId = newId('prd');
  const productSlug = input.productSlug ?? 'default';
  await prisma.organization.create({
    data: {
      id: organizationId,
      slug: input.slug,
      name: input.name,
      products: { create: { id: productId, slug: productSlug, name: input.productName ?? 'Default product' } },
    },
  });
  const { key } = await createApiKey(prisma, organizationId, 'bootstrap');
  return { organizationId, productId, productSlug, apiKey: key };
}

/** A product of the caller's organization, by slug or id; another organization's is a 404. */
export async function findProduct(prisma: PrismaClient, organizationId: string, ref: string) {
  const product = await prisma.product.findFirst({
    where: { organizationId, OR: [{ slug: ref }, { id: ref }] },
  });
  if (!product) throw notFound('product', ref);
  return product;
}
