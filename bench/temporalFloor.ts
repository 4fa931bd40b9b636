/**
 * Temporal's floor on this machine: the CPU the Temporal dev server and an SDK worker spend
 * per workflow for the least a run could be (a workflow of K no-op activities, no database,
 * no Docker), so that bench/overhead's ratio can be read against what any run orchestrated
 * by Temporal costs here, before simlab does anything of its own.
 *
 *   node dist/bench/temporalFloor.js [--workflows 200] [--concurrency 8] [--activities 1,7]
 *
 * Needs the Temporal server of `npm test` (TEMPORAL_ADDRESS) and a built dist/.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { argOf, fmtS, runMain } from './lib/args';
import { cpuSpan, temporalServerPids } from './lib/procStats';

async function measure(o: { workflows: number; concurrency: number; activities: number; address: string }) {
  const taskQueue = `bench-floor-${process.pid}-${Date.now().toString(36)}`;
  const connection = await NativeConnection.connect({ address: o.address });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: require.resolve('./lib/floorWorkflow'),
    activities: { noop: async () => undefined },
  });
  const running = worker.run();
  const client = new Client({ connection: await Connection.connect({ address: o.address }) });
  const span = cpuSpan({ temporal: temporalServerPids(o.address), 'bench (SDK worker and client)': [process.pid] });
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (next < o.workflows) {
        const n = next++;
        await client.workflow.execute('floorWorkflow', { taskQueue, workflowId: `${taskQueue}-${n}`, args: [o.activities] });
      }
    }),
  );
  const wallMs = performance.now() - t0;
  const cost = span.stop();
  worker.shutdown();
  await running;
  await connection.close();
  const per = Object.entries(cost.cpu).map(([k, s]) => `${k} ${((s * 1000) / o.workflows).toFixed(0)} ms`).join(', ');
  return `${o.workflows} workflows of ${o.activities} no-op activit${o.activities === 1 ? 'y' : 'ies'} at concurrency ${o.concurrency}: ${fmtS(wallMs)} (${(o.workflows / (wallMs / 1000)).toFixed(1)}/s); CPU per workflow: ${per}; machine ${(cost.machineBusy * 100).toFixed(0)}% busy`;
}

async function main() {
  const argv = process.argv.slice(2);
  const workflows = Number(argOf(argv, '--workflows') ?? 200);
  const concurrency = Number(argOf(argv, '--concurrency') ?? 8);
  const kinds = (argOf(argv, '--activities') ?? '1,7').split(',').map(Number);
  if (!Number.isInteger(workflows) || workflows < 1 || !Number.isInteger(concurrency) || concurrency < 1 || kinds.some((k) => !Number.isInteger(k) || k < 0)) {
    console.error('--workflows and --concurrency must be positive integers, --activities a list of integers >= 0');
    process.exit(2);
  }
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  for (const activities of kinds) console.log(await measure({ workflows, concurrency, activities, address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' }));
}

runMain(main);
