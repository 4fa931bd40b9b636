/**
 * Bundles the workflows once, at build time (infra/node.sh, `npm run build`), into
 * dist/workflow-bundle.js: a worker that loads it skips bundling at start-up, which costs
 * seconds and memory the process keeps (measured: 313 MB at ready against 377 MB).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowsPath } from './workflowsPath';

export const WORKFLOW_BUNDLE = path.join(__dirname, '..', 'workflow-bundle.js');

async function main() {
  const { code } = await bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} } as never });
  // Written whole, then renamed: a worker starting meanwhile never reads half a bundle.
  const tmp = `${WORKFLOW_BUNDLE}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, code);
  fs.renameSync(tmp, WORKFLOW_BUNDLE);
  console.log(`[infra] workflow bundle ${path.relative(process.cwd(), WORKFLOW_BUNDLE)} (${Math.round(code.length / 1024)} KiB)`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
