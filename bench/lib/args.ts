/** The last occurrence wins, so `npm run chaos -- --trials 20` overrides the script's own `--trials 100`. */
export function argOf(argv: string[], name: string): string | undefined {
  const i = argv.lastIndexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

export const fmtS = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** A bench's entry point: exit 0 when it printed its figures, 1 when it broke. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
