import { type Client, ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { loadConfigOrExit } from '../config';
import { type DrDrillInput, drDrillInput } from '../domain/restore';
import { parseInput } from '../domain/input';
import { connectClient } from './client';

// The weekly DR drill as a Temporal Schedule, independent of the `runbook` CLI:
//
//   npx tsx src/starters/schedules.ts                      # fluentedge-pg, Mondays 03:00 UTC
//   npx tsx src/starters/schedules.ts --server my-pg --cron "0 4 * * 0"
//   npx tsx src/starters/schedules.ts --server my-pg --delete
//
// Idempotent: an existing schedule of the same id is updated, not duplicated. Each run is a
// `drDrill` workflow (RunbookKind=drDrill), so past drills are listed by
// `runbook list --kind drDrill` and the latest one's status shows the trend.

export const drillScheduleId = (server: string) => `dr-drill-weekly-${server}`;

export interface DrillSchedule {
  server: string;
  /** Cron in UTC; default Monday 03:00. */
  cron?: string;
  input?: Partial<DrDrillInput>;
}

export async function ensureDrillSchedule(
  client: Client,
  taskQueue: string,
  s: DrillSchedule,
): Promise<{ scheduleId: string; created: boolean }> {
  const input = parseInput(drDrillInput, { sourceServer: s.server, ...s.input });
  const scheduleId = drillScheduleId(s.server);
  const spec = { cronExpressions: [s.cron ?? '0 3 * * 1'] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'drDrill',
    // Temporal appends the scheduled time, so every run has its own id (and scratch server).
    workflowId: `drill-${s.server}`,
    taskQueue,
    args: [{ ...s.input, sourceServer: input.sourceServer }],
    staticSummary: `Weekly DR drill of ${s.server}`,
  };
  try {
    const handle = client.schedule.getHandle(scheduleId);
    await handle.describe();
    await handle.update((prev) => ({ ...prev, spec, action }));
    return { scheduleId, created: false };
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  await client.schedule.create({
    scheduleId,
    spec,
    action,
    // A drill still running when the next is due is not doubled up.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
  });
  return { scheduleId, created: true };
}

export async function deleteDrillSchedule(client: Client, server: string): Promise<boolean> {
  try {
    await client.schedule.getHandle(drillScheduleId(server)).delete();
    return true;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return false;
    throw err;
  }
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const server = arg('server') ?? 'fluentedge-pg';
  const client = await connectClient(config);
  try {
    if (process.argv.includes('--delete')) {
      const gone = await deleteDrillSchedule(client, server);
      console.log(gone ? `deleted ${drillScheduleId(server)}` : `no schedule ${drillScheduleId(server)}`);
      return;
    }
    const cron = arg('cron');
    const r = await ensureDrillSchedule(client, config.temporal.taskQueue, {
      server,
      ...(cron ? { cron } : {}),
    });
    console.log(`${r.created ? 'created' : 'updated'} schedule ${r.scheduleId} (${cron ?? '0 3 * * 1'} UTC)`);
  } finally {
    await client.connection.close();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(String(err?.message ?? err));
    process.exit(1);
  });
}
