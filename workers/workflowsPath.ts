import * as path from 'node:path';

/** The workflows' entry module, from the TypeScript sources (tests) and from dist/ alike. */
export function workflowsPath(): string {
  return require.resolve(path.join(__dirname, '..', 'workflows'));
}
