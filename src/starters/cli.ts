import { readFileSync } from 'node:fs';
import { type Client, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { Command, CommanderError, Option } from 'commander';
import { loadConfig, ConfigError, type Config } from '../config';
import { InputError, parseInput } from '../domain/input';
import { runbookEntry, runbooks } from '../domain/runbooks';
import { RunbookEnvironment, RunbookKind, RunbookTarget } from '../domain/searchAttributes';
import type { RunbookStatus } from '../domain/status';
import { connectClient, isUnreachable, UnreachableError } from './client';
import { renderResult, renderStatus, renderStatusChange } from './render';

// `runbook`: start, follow, approve and list runbooks. Exit codes are a contract with CI:
// 0 succeeded, 1 the runbook failed / rolled back / reported a bad verdict, 2 usage or input
// error (nothing was started), 3 Temporal unreachable.

export const exitCodes = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

class Exit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

function readInput(text: string | undefined, flag = '--input'): unknown {
  if (text === undefined) return {};
  let source = text;
  if (text.startsWith('@')) {
    try {
      source = readFileSync(text.slice(1), 'utf8');
    } catch (err) {
      throw new Exit(exitCodes.usage, `${flag}: cannot read ${text.slice(1)}: ${(err as Error).message}`);
    }
  }
  try {
    return JSON.parse(source);
  } catch (err) {
    throw new Exit(exitCodes.usage, `${flag}: not valid JSON: ${(err as Error).message}`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function queryStatus(handle: WorkflowHandle): Promise<RunbookStatus | undefined> {
  try {
    return await handle.query<RunbookStatus>('status');
  } catch (err) {
    if (isUnreachable(err)) throw err;
    return undefined; // not yet started by a worker, or a workflow without a status query
  }
}

/** Print stage changes until the run closes (or reaches an outcome in `stopAt`). */
async function follow(
  handle: WorkflowHandle,
  io: Io,
  json: boolean,
  stopAt: Record<string, boolean> = {},
  everyMs = 1000,
): Promise<RunbookStatus | undefined> {
  let last: RunbookStatus | undefined;
  for (;;) {
    const desc = await handle.describe();
    const status = await queryStatus(handle);
    if (status) {
      for (const line of renderStatusChange(last, status)) {
        io.out(json ? JSON.stringify({ event: 'status', ...line }) : `${line.text}\n`);
        if (json) io.out('\n');
      }
      last = status;
    }
    if (desc.status.name !== 'RUNNING') return last;
    if (last?.outcome && last.outcome in stopAt) return last;
    await sleep(everyMs);
  }
}

async function withClient<T>(config: Config, fn: (client: Client) => Promise<T>): Promise<T> {
  let client: Client;
  try {
    client = await connectClient(config);
  } catch (err) {
    throw new Exit(exitCodes.unreachable, (err as Error).message);
  }
  try {
    return await fn(client);
  } catch (err) {
    if (isUnreachable(err) && !(err instanceof Exit)) {
      throw new Exit(
        exitCodes.unreachable,
        `Temporal unreachable at ${config.temporal.address}: ${(err as Error).message}`,
      );
    }
    throw err;
  } finally {
    await client.connection.close();
  }
}

async function awaitResult(handle: WorkflowHandle, type: string, io: Io, json: boolean): Promise<number> {
  const entry = runbookEntry(type);
  const final = entry?.finalOutcomes ?? {};
  const last = await follow(handle, io, json, final);
  if (last?.outcome && last.outcome in final && (await handle.describe()).status.name === 'RUNNING') {
    // Decided, but the workflow stays open (e.g. a promoted canary's rollback window).
    const ok = final[last.outcome] === true;
    io.out(
      json
        ? `${JSON.stringify({ event: 'outcome', ok, outcome: last.outcome, summary: last.summary, details: last.details })}\n`
        : `${last.outcome.toUpperCase()}: ${last.summary}\n`,
    );
    return ok ? exitCodes.ok : exitCodes.failed;
  }
  try {
    const result = await handle.result();
    const ok = runbookEntry(type)?.succeeded(result) ?? true;
    io.out(json ? `${JSON.stringify({ event: 'result', ok, result })}\n` : renderResult(type, result));
    return ok ? exitCodes.ok : exitCodes.failed;
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      const message = err.cause?.message ?? err.message;
      io.out(json ? `${JSON.stringify({ event: 'failed', message })}\n` : `FAILED: ${message}\n`);
      return exitCodes.failed;
    }
    throw err;
  }
}

export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const config = (): Config => {
    try {
      // The CLI talks to Temporal only; Azure settings are the worker's business.
      return loadConfig(io.env, { requireAzure: false });
    } catch (err) {
      if (err instanceof ConfigError) throw new Exit(exitCodes.usage, err.message);
      throw err;
    }
  };

  const program = new Command('runbook')
    .description('Start, follow and approve FluentEdge runbooks on Temporal')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();

  program
    .command('start')
    .description('start a runbook')
    .argument('<workflowType>', `one of: ${Object.keys(runbooks).join(', ')}`)
    .option('--input <json|@file>', 'the runbook input (JSON, or @path to a JSON file)')
    .option('--id <workflowId>', 'workflow id (default: derived from the input)')
    .option('--wait', 'follow the run and exit with its outcome')
    .option('--rerun', 'start again even if a run with this id already finished')
    .option('--json', 'machine-readable output (JSON lines)')
    .action(
      async (
        type: string,
        opts: { input?: string; id?: string; wait?: boolean; rerun?: boolean; json?: boolean },
      ) => {
        const entry = runbookEntry(type);
        if (!entry) {
          throw new Exit(
            exitCodes.usage,
            `unknown runbook "${type}"; known: ${Object.keys(runbooks).join(', ')}`,
          );
        }
        const raw = readInput(opts.input);
        let input: Record<string, unknown>;
        try {
          input = parseInput(entry.schema, raw) as Record<string, unknown>;
        } catch (err) {
          if (err instanceof InputError) throw new Exit(exitCodes.usage, err.message);
          throw err;
        }
        const cfg = config();
        const workflowId = opts.id ?? entry.workflowId(input, new Date());
        const code = await withClient(cfg, async (client) => {
          // Deterministic ids make a re-run CI job meet its earlier run: attach to a running one,
          // and report (not repeat) a finished one unless --rerun says to start again.
          const earlier = await client.workflow
            .getHandle(workflowId)
            .describe()
            .catch((err: Error) => {
              if (err.name === 'WorkflowNotFoundError') return undefined;
              throw err;
            });
          if (earlier && earlier.status.name !== 'RUNNING' && !opts.rerun) {
            io.out(
              opts.json
                ? `${JSON.stringify({ event: 'finished-earlier', workflowId, execution: earlier.status.name })}\n`
                : `${workflowId} already ran (${earlier.status.name}); its outcome follows (use --rerun to start it again)\n`,
            );
            return awaitResult(client.workflow.getHandle(workflowId), type, io, !!opts.json);
          }
          if (earlier?.status.name === 'RUNNING') {
            io.out(
              opts.json
                ? `${JSON.stringify({ event: 'attached', workflowId })}\n`
                : `attached to running ${workflowId}\n`,
            );
            if (!opts.wait) return exitCodes.ok;
            return awaitResult(client.workflow.getHandle(workflowId), type, io, !!opts.json);
          }
          const handle = await client.workflow.start(type, {
            taskQueue: cfg.temporal.taskQueue,
            workflowId,
            args: [raw],
            // A re-run CI job with the same deterministic id attaches instead of starting twice.
            workflowIdConflictPolicy: 'USE_EXISTING',
            staticSummary: entry.summary(input),
            staticDetails: `Started by \`${io.env.USER ?? 'unknown'}\` via runbook CLI\n\n\`\`\`json\n${JSON.stringify(raw, null, 2)}\n\`\`\``,
            typedSearchAttributes: [
              { key: RunbookKind, value: entry.kind },
              { key: RunbookTarget, value: String(input.app ?? input.sourceServer ?? type) },
              { key: RunbookEnvironment, value: String(input.environment ?? cfg.environment) },
            ],
          });
          io.out(
            opts.json
              ? `${JSON.stringify({ event: 'started', workflowId: handle.workflowId, runId: handle.firstExecutionRunId })}\n`
              : `started ${type} ${handle.workflowId}\n`,
          );
          if (!opts.wait) return exitCodes.ok;
          return awaitResult(client.workflow.getHandle(handle.workflowId), type, io, !!opts.json);
        });
        setExit(code);
      },
    );

  program
    .command('status')
    .description("show a runbook's status")
    .argument('<workflowId>')
    .option('--watch', 'keep printing changes until the run ends')
    .option('--json', 'machine-readable output')
    .action(async (id: string, opts: { watch?: boolean; json?: boolean }) => {
      const code = await withClient(config(), async (client) => {
        const handle = client.workflow.getHandle(id);
        let desc: Awaited<ReturnType<typeof handle.describe>>;
        try {
          desc = await handle.describe();
        } catch (err) {
          if ((err as Error).name === 'WorkflowNotFoundError')
            throw new Exit(exitCodes.usage, `no workflow ${id}`);
          throw err;
        }
        if (opts.watch && desc.status.name === 'RUNNING') {
          await follow(handle, io, !!opts.json);
          desc = await handle.describe();
        }
        const status = await queryStatus(handle);
        if (opts.json) {
          io.out(
            `${JSON.stringify({ workflowId: id, type: desc.type, execution: desc.status.name, status })}\n`,
          );
        } else {
          io.out(renderStatus(id, desc.type, desc.status.name, status));
        }
        return ['FAILED', 'TERMINATED', 'TIMED_OUT', 'CANCELLED'].includes(desc.status.name)
          ? exitCodes.failed
          : exitCodes.ok;
      });
      setExit(code);
    });

  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(decision)
      .description(`${decision} a pending gate`)
      .argument('<workflowId>')
      .requiredOption('--gate <gate>', 'the gate name shown by `runbook status`')
      .requiredOption('--as <user>', 'who decides (checked against the gate policy)')
      .option('--comment <text>', 'why')
      .action(async (id: string, opts: { gate: string; as: string; comment?: string }) => {
        const payload = { gate: opts.gate, approver: opts.as, comment: opts.comment ?? '', decision };
        const code = await withClient(config(), async (client) => {
          const handle = client.workflow.getHandle(id);
          try {
            const answer = await handle.executeUpdate<
              { accepted: boolean; reason?: string },
              [typeof payload]
            >('decide', {
              args: [payload],
            });
            io.out(`${answer.accepted ? 'accepted' : 'refused'}: ${answer.reason ?? decision}\n`);
            return answer.accepted ? exitCodes.ok : exitCodes.failed;
          } catch (err) {
            if (isUnreachable(err)) throw err;
            io.err(`refused: ${(err as { cause?: Error }).cause?.message ?? (err as Error).message}\n`);
            return exitCodes.failed;
          }
        });
        setExit(code);
      });
  }

  program
    .command('signal')
    .description('send a signal (pause, resume, abort, promote, rollback …)')
    .argument('<workflowId>')
    .argument('<name>')
    .option('--input <json|@file>', 'signal payload (JSON)')
    .action(async (id: string, name: string, opts: { input?: string }) => {
      const payload = opts.input === undefined ? undefined : readInput(opts.input);
      const code = await withClient(config(), async (client) => {
        await client.workflow.getHandle(id).signal(name, ...(payload === undefined ? [] : [payload]));
        io.out(`signalled ${name} to ${id}\n`);
        return exitCodes.ok;
      });
      setExit(code);
    });

  program
    .command('list')
    .description('list runbooks')
    .addOption(
      new Option('--kind <kind>', 'only this runbook kind (or workflow type)').choices([
        ...new Set([...Object.values(runbooks).map((r) => r.kind), ...Object.keys(runbooks)]),
      ]),
    )
    .option('--running', 'only running ones')
    .option('--limit <n>', 'at most n', '20')
    .option('--json', 'machine-readable output')
    .action(async (opts: { kind?: string; running?: boolean; limit: string; json?: boolean }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new Exit(exitCodes.usage, '--limit: expected a positive integer');
      const clauses = [
        ...(opts.kind ? [`RunbookKind = '${runbookEntry(opts.kind)?.kind ?? opts.kind}'`] : []),
        ...(opts.running ? [`ExecutionStatus = 'Running'`] : []),
      ];
      const code = await withClient(config(), async (client) => {
        const rows: {
          [k in 'workflowId' | 'type' | 'status' | 'started' | 'target' | 'stage' | 'outcome']: string;
        }[] = [];
        for await (const wf of client.workflow.list({
          query: clauses.join(' AND ') || undefined,
          pageSize: limit,
        })) {
          const attr = (k: typeof RunbookKind) => String(wf.typedSearchAttributes.get(k) ?? '');
          rows.push({
            workflowId: wf.workflowId,
            type: wf.type,
            status: wf.status.name,
            started: wf.startTime.toISOString(),
            target: attr(RunbookTarget),
            stage: String(wf.searchAttributes?.RunbookStage?.[0] ?? ''),
            outcome: String(wf.searchAttributes?.RunbookOutcome?.[0] ?? ''),
          });
          if (rows.length >= limit) break;
        }
        if (opts.json) io.out(`${JSON.stringify(rows)}\n`);
        else if (rows.length === 0) io.out('no runbooks\n');
        else
          for (const r of rows)
            io.out(
              `${r.started}  ${r.status.padEnd(10)} ${r.type.padEnd(18)} ${r.workflowId}  ${r.stage} ${r.outcome}\n`,
            );
        return exitCodes.ok;
      });
      setExit(code);
    });

  return program;
}

export async function run(argv: string[], io: Io): Promise<number> {
  let code: number = exitCodes.ok;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof Exit) {
      io.err(`runbook: ${err.message}\n`);
      return err.code;
    }
    if (err instanceof CommanderError) {
      // help and version are not errors; everything else commander rejects is usage.
      return err.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    }
    if (err instanceof UnreachableError || isUnreachable(err)) {
      io.err(`runbook: ${(err as Error).message}\n`);
      return exitCodes.unreachable;
    }
    const e = err as Error & { details?: string };
    io.err(`runbook: ${io.env.LOG_LEVEL === 'debug' ? e.stack : (e.details ?? e.message ?? String(err))}\n`);
    return exitCodes.failed;
  }
}

if (require.main === module) {
  run(process.argv.slice(2), {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    env: process.env,
  }).then((code) => process.exit(code));
}
