/**
 * Replays committed histories of real runs (test/replay/histories, captured by
 * test/replay/capture-histories.ts) against the current workflow code: a change that
 * would break runs already in flight fails here as a nondeterminism error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';

const dir = path.join(__dirname, '..', 'replay', 'histories');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));

jest.setTimeout(120_000);

describe('workflow replay', () => {
  it('has histories of every kind of ending', () => {
    expect(files.sort()).toEqual(['iteration-completed.json', 'run-cancelled.json', 'run-completed.json', 'run-failed-setup.json']);
  });

  it('replays every committed history without nondeterminism', async () => {
    const histories = files.map((f) => ({
      workflowId: f.replace(/\.json$/, ''),
      history: historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))),
    }));
    const results = [];
    for await (const r of Worker.runReplayHistories({ workflowsPath: require.resolve('../../workflows') }, histories)) {
      results.push({ workflowId: r.workflowId, error: r.error ? String(r.error) : undefined });
    }
    expect(results).toEqual(histories.map((h) => ({ workflowId: h.workflowId, error: undefined })));
  });
});
