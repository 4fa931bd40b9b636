/**
 * Error text normalized so that the same failure reads the same in every run and every
 * iteration: ids, hashes, numbers, times and directory prefixes replaced, case and spacing
 * folded. Clusters group by it and are named after it.
 */
export function normalizeSignature(text: string): string {
  return text
    .replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
    .toLowerCase()
    .replace(/\b\d{4}-\d{2}-\d{2}[t ][\d:.]+z?\b/g, '<time>')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '<id>')
    .replace(/\b[a-z]{2,5}_[0-9a-z]{12,}\b/g, '<id>')
    .replace(/\b(?=[0-9a-f]*\d)[0-9a-f]{10,}\b/g, '<hex>')
    .replace(/(?:\/[\w.@+-]+)+\/([\w.@+-]+)/g, '…/$1')
    .replace(/\d+(?:\.\d+)?/g, '<n>')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200);
}

/** Word tokens of a signature, for similarity. */
export function tokens(signature: string): Set<string> {
  return new Set(signature.split(/[^a-z<>…/._-]+/).filter((t) => t.length > 1));
}

export function jaccard(a: Set<string>, b: Set<string>): number {
  if (!a.size && !b.size) return 1;
  let common = 0;
  for (const t of a) if (b.has(t)) common++;
  return common / (a.size + b.size - common);
}
