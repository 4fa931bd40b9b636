/**
 * Captures the workflow histories of one released workflow version, which the replay
 * test checks every later version against. Run after the integration tests, against the
 * same Temporal server, naming the version (a new folder; older ones are never touched):
 *   npm run histories -- v3
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
  // v5 on: an execution that handed its window to the next one (continue-as-new).
  'iteration-continued': `WorkflowType = 'iterationWorkflow' AND ExecutionStatus = 'ContinuedAsNew'`,
};

async function main() {
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const version = process.argv[2] ?? '';
  if (!/^v\d+$/.test(version)) throw new Error('usage: capture-histories vN (the workflow version these histories belong to)');
  const outDir = path.join(__dirname, '..', '..', '..', 'test', 'replay', 'histories', version);
  if (fs.existsSync(outDir)) throw new Error(`${outDir} exists: histories of a released version are never overwritten`);
  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, kind] of Object.entries(KINDS)) {
    // Real executions of the integration tests only: the workflow tests' stubbed
    // activities run on queues of their own.
    const query = `${kind} AND TaskQueue STARTS_WITH 'simlab-test-'`;
    // The newest execution of its kind (the list's order is not the start order): the
    // histories of a version must come from that version's code.
    let newest: { workflowId: string; runId: string; startTime: Date } | undefined;
    let seen = 0;
    for await (const wf of client.workflow.list({ query })) {
      if (!newest || wf.startTime > newest.startTime) newest = { workflowId: wf.workflowId, runId: wf.runId, startTime: wf.startTime };
      if (++seen >= 2000) break;
    }
    const found = newest !== undefined;
    if (newest) {
      // The CLI writes the canonical proto3 JSON that historyFromJSON reads back.
      const json = execFileSync(process.env.TEMPORAL_CLI ?? 'temporal', [
        'workflow', 'show', '--address', address, '--workflow-id', newest.workflowId, '--run-id', newest.runId, '--output', 'json',
      ]);
      fs.writeFileSync(path.join(outDir, `${name}.json`), json);
      console.log(`${name}: ${newest.workflowId} started ${newest.startTime.toISOString()} (${(JSON.parse(json.toString()) as { events: unknown[] }).events.length} events)`);
    }
    if (!found) console.error(`${name}: no execution matches ${query}`);
  }
  await connection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
