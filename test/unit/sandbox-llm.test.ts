import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type LlmStubs, llmChatPath, llmProviders, startLlmStubs } from '../../src/sandbox/llm';

let stubs: LlmStubs;
before(async () => {
  stubs = await startLlmStubs({ port: 0 });
  for (const p of llmProviders) stubs.setProvider(p, { latencyMs: 0 });
});
after(() => stubs.close());

const chat = (provider: (typeof llmProviders)[number]) =>
  fetch(new URL(llmChatPath(provider), stubs.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ max_tokens: 8, messages: [{ role: 'user', content: 'hello there' }] }),
  });

test('each provider answers in its own shape', async () => {
  const azure = (await (await chat('azure-openai')).json()) as {
    choices: { message: { content: string } }[];
  };
  assert.match(azure.choices[0]?.message.content ?? '', /hello there/);
  for (const p of ['anthropic', 'bedrock'] as const) {
    const r = (await (await chat(p)).json()) as { content: { text: string }[] };
    assert.match(r.content[0]?.text ?? '', /hello there/);
  }
});

test('an outage staged through the admin route fails only that provider, with its error shape', async () => {
  const res = await fetch(`${stubs.url}/_sandbox/providers/anthropic`, {
    method: 'POST',
    body: JSON.stringify({ healthy: false }),
  });
  assert.equal(res.status, 200);
  const down = await chat('anthropic');
  assert.equal(down.status, 529);
  assert.deepEqual(((await down.json()) as { error: { type: string } }).error.type, 'overloaded_error');
  assert.equal((await chat('azure-openai')).status, 200);
  assert.equal(stubs.providers().anthropic.failures, 1);

  stubs.setProvider('anthropic', { healthy: true });
  assert.equal((await chat('anthropic')).status, 200);
  assert.equal(
    (await fetch(`${stubs.url}/_sandbox/providers/openai`, { method: 'POST', body: '{}' })).status,
    404,
  );
  assert.equal(
    (await fetch(`${stubs.url}/_sandbox/providers/bedrock`, { method: 'POST', body: '{"healthy":"no"}' }))
      .status,
    400,
  );
});

test('latency is applied per provider', async () => {
  stubs.setProvider('bedrock', { latencyMs: 300 });
  const t0 = performance.now();
  assert.equal((await chat('bedrock')).status, 200);
  assert.ok(performance.now() - t0 >= 290);
  stubs.setProvider('bedrock', { latencyMs: 0 });
});
