import type { HealthReport } from '../domain/healthCheck';
import type { CanaryResult } from '../domain/canary';
import type { RunbookStatus } from '../domain/status';

// Human output of the CLI. Kept apart from the command wiring so tests can read it.

export interface StatusLine {
  text: string;
  phase: string;
  step?: number;
}

/** New history entries and phase changes since `prev`. */
export function renderStatusChange(prev: RunbookStatus | undefined, cur: RunbookStatus): StatusLine[] {
  const lines: StatusLine[] = [];
  const seen = prev?.history.length ?? 0;
  for (const h of cur.history.slice(seen)) {
    lines.push({
      text: `${h.at.slice(11, 19)}  ${h.event.padEnd(8)} ${h.step ? `[${h.step}] ` : ''}${h.detail ?? ''}${h.by ? ` (by ${h.by})` : ''}`,
      phase: cur.phase,
      ...(cur.step ? { step: cur.step.index } : {}),
    });
  }
  if (cur.pendingGate && prev?.pendingGate?.gate !== cur.pendingGate.gate) {
    lines.push({
      text: `waiting at gate "${cur.pendingGate.gate}": ${cur.pendingGate.prompt}`,
      phase: cur.phase,
    });
  }
  return lines;
}

export function renderStatus(
  id: string,
  type: string,
  execution: string,
  s: RunbookStatus | undefined,
): string {
  const out = [`${id}  ${type}  ${execution}`];
  if (!s) return `${out.join('\n')}\n(no status yet)\n`;
  out.push(
    `  ${s.summary}`,
    `  phase: ${s.phase}${s.outcome ? `  outcome: ${s.outcome}` : ''}${s.dryRun ? '  (dry run)' : ''}`,
  );
  if (s.step) out.push(`  step ${s.step.index}/${s.step.total}: ${s.step.title}`);
  if (s.pendingGate) out.push(`  pending gate: ${s.pendingGate.gate} — ${s.pendingGate.prompt}`);
  out.push('  history:');
  for (const h of s.history.slice(-15)) {
    out.push(
      `    ${h.at.slice(0, 19)}Z ${h.event}${h.step ? ` [${h.step}]` : ''}${h.detail ? `: ${h.detail}` : ''}${h.by ? ` (by ${h.by})` : ''}`,
    );
  }
  return `${out.join('\n')}\n`;
}

function renderHealth(r: HealthReport): string {
  const out = [`${r.app} (${r.environment}, ${r.resourceGroup}): ${r.verdict.toUpperCase()}`];
  if (r.ingress) {
    out.push(
      `  ingress ${r.ingress.url} → ${r.ingress.httpStatus ?? r.ingress.error} in ${r.ingress.latencyMs} ms`,
    );
  }
  for (const rev of r.revisions) {
    const b = rev.probe?.body;
    const parts = [
      `${rev.trafficWeight}%`,
      `${rev.runningState ?? '?'}/${rev.healthState ?? '?'}`,
      `/health ${rev.probe?.httpStatus ?? rev.probe?.error ?? 'not probed'}`,
      b?.database ? `db ${b.database.status}` : undefined,
      b?.redis ? `redis ${b.redis.status}` : undefined,
      b?.llm ? `llm ${b.llm.provider ?? ''} ${b.llm.circuit}` : undefined,
    ].filter(Boolean);
    out.push(
      `  ${rev.name}: ${rev.verdict} (${parts.join(', ')})${rev.reasons.length ? ` — ${rev.reasons.join('; ')}` : ''}`,
    );
  }
  for (const reason of r.reasons) out.push(`  ! ${reason}`);
  return `${out.join('\n')}\n`;
}

function renderCanary(r: CanaryResult): string {
  const out = [`${r.outcome.toUpperCase()}: ${r.app} ← ${r.image}`, `  ${r.reason}`];
  if (r.stable) out.push(`  stable ${r.stable}${r.canary ? `, canary ${r.canary}` : ''}`);
  for (const p of r.plan ?? []) {
    const w = Object.entries(p.weights)
      .map(([rev, n]) => `${rev}=${n}%`)
      .join(', ');
    out.push(
      `  step ${p.step}: ${w || '(weights unchanged)'}${p.bake ? `, bake ${p.bake}` : ''}${p.approval ? ', approval gate' : ''}`,
    );
  }
  const last = r.analysis.slice(-3);
  if (last.length)
    out.push(
      `  last analyses: ${last.map((a) => `${a.verdict} (${a.checks.map((c) => c.detail).join('; ')})`).join(' | ')}`,
    );
  return `${out.join('\n')}\n`;
}

export function renderResult(type: string, result: unknown): string {
  if (type === 'healthCheck' && result && typeof result === 'object' && 'verdict' in result) {
    return renderHealth(result as HealthReport);
  }
  if (type === 'canaryPromotion' && result && typeof result === 'object' && 'outcome' in result) {
    return renderCanary(result as CanaryResult);
  }
  return `${JSON.stringify(result, null, 2)}\n`;
}
