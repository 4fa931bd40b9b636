/**
 * Refreshes the committed workflow histories that the replay test checks the workflow
 * code against. Run after the integration tests, against the same Temporal server:
 *   npm run build && TEMPORAL_CLI=$(bash infra/temporal.sh --print-binary) node dist/test/replay/capture-histories.js
 * Picks the newest closed execution of each kind by simlab's search attributes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { execFileSync } from 'node:child_process';

const KINDS: Record<string, string> = {
  'run-completed': `WorkflowType = 'runWorkflow' AND SimlabRunStatus = 'completed'`,
  'run-failed-setup': `WorkflowType = 'runWorkflow' AND SimlabRunStatus = 'failed'`,
  'run-cancelled': `WorkflowType = 'runWorkflow' AND SimlabRunStatus = 'cancelled'`,
  'iteration-completed': `WorkflowType = 'iterationWorkflow' AND ExecutionStatus = 'Completed'`,
};

async function main() {
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const outDir = path.join(__dirname, '..', '..', '..', 'test', 'replay', 'histories');
  for (const [name, query] of Object.entries(KINDS)) {
    let found = false;
    for await (const wf of client.workflow.list({ query, pageSize: 1 })) {
      // The CLI writes the canonical proto3 JSON that historyFromJSON reads back.
      const json = execFileSync(process.env.TEMPORAL_CLI ?? 'temporal', [
        'workflow', 'show', '--address', address, '--workflow-id', wf.workflowId, '--run-id', wf.runId, '--output', 'json',
      ]);
      fs.writeFileSync(path.join(outDir, `${name}.json`), json);
      console.log(`${name}: ${wf.workflowId} (${(JSON.parse(json.toString()) as { events: unknown[] }).events.length} events)`);
      found = true;
      break;
    }
    if (!found) console.error(`${name}: no execution matches ${query}`);
  }
  await connection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
