/** Shortens text for evidence and error messages; keepEnd keeps the tail, where failures are explained. */
export function truncate(s: string, n: number, keepEnd = false): string {
  if (s.length <= n) return s;
  return keepEnd ? `…${s.slice(s.length - n)}` : `${s.slice(0, n)}…`;
}
