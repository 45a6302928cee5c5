import { condition, defineSignal, defineUpdate, setHandler } from '@temporalio/workflow';
import {
  applyDecision,
  type Decision,
  type DecisionResult,
  decide,
  decisionSchema,
  type GateState,
} from '../../domain/approval';
import type { ApprovalPolicy } from '../../domain/canary';
import { formatDuration } from '../../domain/duration';
import { fieldProblems } from '../../domain/input';
import type { Progress } from './progress';

// Approval gates as every runbook exposes them: `approve`/`reject` signals with {gate, approver,
// comment?} and a `decide` Update whose validator answers at once; the pure policy in
// domain/approval decides; every decision, accepted or refused, goes into the status history.
// (canaryPromotion has the same handlers inline; this is the shared form for new runbooks.)

export const approveSignal = defineSignal<[unknown]>('approve');
export const rejectSignal = defineSignal<[unknown]>('reject');
export const decideUpdate = defineUpdate<DecisionResult, [unknown]>('decide');

const gatePayload = decisionSchema.omit({ decision: true });

export type GateDecision = 'approved' | 'rejected' | 'expired';

export interface Gates {
  /**
   * Opens gate `name` and waits for a decision. On expiry the policy decides: `rollback` returns
   * 'expired' (the caller takes the safe path), `hold` keeps waiting for a person. `stop()` is
   * checked too, so an abort ends the wait.
   */
  open(name: string, prompt: string, stop?: () => boolean): Promise<GateDecision>;
}

/** Registers the handlers once per run (call before the first await that could receive them). */
export function approvalGates(progress: Progress, policy: ApprovalPolicy, initiator?: string): Gates {
  let gate: GateState | undefined;

  const onDecision = (d: Decision): DecisionResult => {
    const result = decide(policy, gate, d, initiator);
    progress.log({
      event: result.accepted ? d.decision : 'refused',
      step: d.gate,
      by: d.approver,
      detail: `${result.reason}${d.comment ? ` — "${d.comment}"` : ''}`,
    });
    if (gate && result.accepted) gate = applyDecision(gate, d, result);
    return result;
  };
  for (const [signal, decision] of [
    [approveSignal, 'approve'],
    [rejectSignal, 'reject'],
  ] as const) {
    setHandler(
      signal,
      (p) => {
        const parsed = gatePayload.safeParse(p);
        if (!parsed.success) {
          progress.log({
            event: 'refused',
            step: decision,
            detail: `malformed payload: ${fieldProblems(parsed.error).join('; ')}`,
          });
          return;
        }
        onDecision({ ...parsed.data, decision });
      },
      { description: `${decision} the open gate. Payload: {gate, approver, comment?}` },
    );
  }
  setHandler(decideUpdate, (p) => onDecision(decisionSchema.parse(p)), {
    validator: (p) => {
      const parsed = decisionSchema.safeParse(p);
      if (!parsed.success) throw new Error(`invalid decision: ${fieldProblems(parsed.error).join('; ')}`);
    },
    description:
      'Approve or reject the open gate with an immediate answer. Payload: {gate, approver, decision, comment?}',
  });

  return {
    async open(name, prompt, stop = () => false) {
      gate = { gate: name, openedAt: Date.now(), approvals: [] };
      const expires = new Date(Date.now() + policy.expiry).toISOString();
      progress.status.pendingGate = {
        gate: name,
        prompt,
        since: new Date().toISOString(),
        expiresAt: expires,
      };
      progress.setPhase('waiting');
      progress.log({ event: 'gate', step: name, detail: prompt });
      const decided = () => !!gate?.outcome || stop();
      let inTime = await condition(decided, policy.expiry);
      if (!inTime && policy.onExpiry === 'hold') {
        progress.log({
          event: 'expired',
          step: name,
          detail: `no decision within ${formatDuration(policy.expiry)}; holding for a person (onExpiry=hold)`,
        });
        delete progress.status.pendingGate.expiresAt;
        await condition(decided);
        inTime = true;
      }
      const outcome = gate.outcome;
      gate = undefined;
      delete progress.status.pendingGate;
      progress.setPhase('running');
      if (outcome === 'approved' || outcome === 'rejected') return outcome;
      if (!inTime)
        progress.log({
          event: 'expired',
          step: name,
          detail: `no decision within ${formatDuration(policy.expiry)}; taking the safe path`,
        });
      return 'expired';
    },
  };
}
