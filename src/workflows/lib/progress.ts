import {
  defineQuery,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { type Lang, type MessageKey, t } from '../../domain/messages';
import {
  RunbookEnvironment,
  RunbookKind,
  RunbookOutcome,
  RunbookStage,
  RunbookTarget,
} from '../../domain/searchAttributes';
import type { HistoryEntry, Phase, RunbookStatus } from '../../domain/status';

export const statusQuery = defineQuery<RunbookStatus>('status');

/**
 * One object per run keeps the status query, the UI's current details and the RunbookStage
 * search attribute saying the same thing, so an operator never reads two versions of the truth.
 */
export class Progress {
  readonly status: RunbookStatus;

  constructor(
    readonly lang: Lang,
    init: {
      kind: string;
      target: string;
      environment: string;
      summary: string;
      dryRun: boolean;
      steps: number;
    },
  ) {
    this.total = init.steps;
    this.status = {
      runbook: workflowInfo().workflowType,
      kind: init.kind,
      target: init.target,
      environment: init.environment,
      phase: init.dryRun ? 'planned' : 'preflight',
      summary: init.summary,
      history: [],
      dryRun: init.dryRun,
    };
    setHandler(statusQuery, () => this.status, {
      description: 'Where the runbook is: phase, current step, every decision with its reason, pending gate.',
    });
    upsertSearchAttributes([
      { key: RunbookKind, value: init.kind },
      { key: RunbookTarget, value: init.target },
      { key: RunbookEnvironment, value: init.environment },
      { key: RunbookStage, value: this.status.phase },
    ]);
    this.render();
  }

  private readonly total: number;

  msg(key: MessageKey, vars?: Record<string, string | number>): string {
    return t(this.lang, key, vars);
  }

  /** Enter step `index` (1-based, as in the manual). */
  step(index: number, key: MessageKey, vars?: Record<string, string | number>): void {
    const title = this.msg(key, vars);
    this.status.step = { index, total: this.total, title };
    if (this.status.phase === 'preflight') this.setPhase('running');
    this.log({ event: 'step', step: `${index}`, detail: title });
  }

  setPhase(phase: Phase): void {
    this.status.phase = phase;
    upsertSearchAttributes([{ key: RunbookStage, value: phase }]);
    this.render();
  }

  log(entry: Omit<HistoryEntry, 'at'>): void {
    this.status.history.push({ at: new Date().toISOString(), ...entry });
    this.render();
  }

  finish(
    phase: Extract<Phase, 'completed' | 'failed' | 'rolled-back' | 'planned'>,
    outcome: string,
    detail: string,
  ): void {
    this.status.outcome = outcome;
    this.status.summary = detail;
    this.log({ event: 'finished', detail: `${outcome}: ${detail}` });
    upsertSearchAttributes([{ key: RunbookOutcome, value: outcome }]);
    this.setPhase(phase);
  }

  private render(): void {
    const s = this.status;
    const lines = [`**${s.summary}**`, `phase: ${s.phase}`];
    if (s.step) lines.push(this.msg('step.running', s.step));
    if (s.pendingGate)
      lines.push(`waiting for approval at gate \`${s.pendingGate.gate}\`: ${s.pendingGate.prompt}`);
    if (s.outcome) lines.push(`outcome: ${s.outcome}`);
    const last = s.history
      .slice(-5)
      .map((h) => `- ${h.at.slice(11, 19)} ${h.event}${h.detail ? `: ${h.detail}` : ''}`);
    setCurrentDetails([...lines, ...last].join('\n'));
  }
}
