import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { exitCodes, run } from '../../src/starters/cli';
import { freePort } from '../../src/sandbox/net';

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  const code = await run(args, {
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
    env: { SANDBOX_ENDPOINTS_FILE: '/nonexistent', ...env },
  });
  return { code, out, err };
}

describe('runbook CLI exit codes (no server needed)', () => {
  const usage: [string, string[], RegExp][] = [
    [
      'unknown runbook',
      ['start', 'deployEverything', '--input', '{}'],
      /unknown runbook "deployEverything"; known: healthCheck/,
    ],
    ['input not JSON', ['start', 'healthCheck', '--input', '{app:'], /--input: not valid JSON/],
    ['input file missing', ['start', 'healthCheck', '--input', '@/nonexistent.json'], /--input: cannot read/],
    [
      'schema violation',
      ['start', 'healthCheck', '--input', '{"app":"UPPER","dryRun":1}'],
      /app: expected.*dryRun:/,
    ],
    ['unknown option', ['start', 'healthCheck', '--colour'], /unknown option/],
    ['missing --as', ['approve', 'wf-1', '--gate', 'promote'], /required option '--as <user>'/],
    ['bad --limit', ['list', '--limit', 'many'], /--limit: expected a positive integer/],
    ['bad environment', ['status', 'wf-1'], /TEMPORAL_ADDRESS="nope": expected host:port/],
  ];
  for (const [name, args, message] of usage) {
    test(`${name} → 2`, async () => {
      const r = await cli(args, name === 'bad environment' ? { TEMPORAL_ADDRESS: 'nope' } : {});
      assert.equal(r.code, exitCodes.usage, r.err);
      assert.match(r.err, message);
    });
  }

  test('Temporal unreachable → 3, and nothing else is attempted', async () => {
    const port = await freePort();
    const r = await cli(['start', 'healthCheck', '--input', '{"app":"fluentedge-backend"}'], {
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
    });
    assert.equal(r.code, exitCodes.unreachable);
    assert.match(r.err, new RegExp(`Temporal unreachable at 127.0.0.1:${port}`));
    assert.equal(r.out, '');
  });

  test('help → 0', async () => {
    const r = await cli(['--help']);
    assert.equal(r.code, exitCodes.ok);
    assert.match(r.out, /Usage: runbook/);
  });
});
