/**
 * Replays committed histories of real executions against the current workflow code: a
 * change that would break executions already in flight fails here as a nondeterminism
 * error. Histories are kept per released workflow version (test/replay/histories/<v>/,
 * captured by test/replay/capture-histories.ts) and never overwritten, so every version
 * that may still have executions running stays covered.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';

const root = path.join(__dirname, '..', 'replay', 'histories');
const versions = fs.readdirSync(root).filter((v) => /^v\d+$/.test(v)).sort();
const KINDS = ['iteration-completed.json', 'run-cancelled.json', 'run-completed.json', 'run-failed-setup.json'];
/** From v5 on, iterations continue as new: a continued execution's history is kept too. */
const kindsOf = (v: string) => (Number(v.slice(1)) >= 5 ? [...KINDS, 'iteration-continued.json'].sort() : KINDS);

jest.setTimeout(120_000);

describe('workflow replay', () => {
  it('keeps histories of every kind of ending for every version', () => {
    expect(versions.length).toBeGreaterThanOrEqual(2);
    for (const v of versions) {
      const files = fs.readdirSync(path.join(root, v)).filter((f) => f.endsWith('.json'));
      expect({ v, files: files.filter((f) => kindsOf(v).includes(f)).sort() }).toEqual({ v, files: kindsOf(v) });
    }
  });

  it.each(versions)('replays every committed %s history without nondeterminism', async (v) => {
    const dir = path.join(root, v);
    const histories = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => ({ workflowId: `${v}/${f.replace(/\.json$/, '')}`, history: historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))) }));
    const results = [];
    for await (const r of Worker.runReplayHistories({ workflowsPath: require.resolve('../../workflows') }, histories)) {
      results.push({ workflowId: r.workflowId, error: r.error ? String(r.error) : undefined });
    }
    expect(results).toEqual(histories.map((h) => ({ workflowId: h.workflowId, error: undefined })));
  });
});
