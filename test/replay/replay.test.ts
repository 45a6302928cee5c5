import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../helpers/temporal';

// Committed histories (scripts/record-histories.ts) replayed against today's workflow code: a
// change to command order in a runbook must come with patched(), or this fails.

const dir = path.join(__dirname, 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

test('there are histories to replay', () => {
  assert.ok(files.length >= 3, `found ${files.length}`);
});

for (const file of files) {
  test(`replays ${file}`, async () => {
    const history = historyFromJSON(JSON.parse(readFileSync(path.join(dir, file), 'utf8')));
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file);
  });
}
