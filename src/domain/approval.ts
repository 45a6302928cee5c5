import { z } from 'zod';
import type { ApprovalPolicy } from './canary';

// Approval gates: who may decide, how many must agree, and what happens when nobody does.
// Pure, so the workflow, the Update validator and the tests apply the same rules.

export const decisionSchema = z.strictObject({
  gate: z.string({ message: 'expected the gate name' }).min(1).max(100),
  approver: z.string({ message: 'expected who decides' }).min(1).max(200),
  decision: z.enum(['approve', 'reject'], { message: 'expected approve or reject' }),
  comment: z.string().max(2000).default(''),
});
export type Decision = z.output<typeof decisionSchema>;

export interface GateState {
  gate: string;
  openedAt: number;
  approvals: string[];
  outcome?: 'approved' | 'rejected' | 'expired';
}

export interface DecisionResult {
  accepted: boolean;
  reason: string;
  /** Set when this decision closes the gate. */
  closes?: 'approved' | 'rejected';
}

export function decide(
  policy: ApprovalPolicy,
  gate: GateState | undefined,
  d: Decision,
  initiator: string | undefined,
): DecisionResult {
  if (!gate) return { accepted: false, reason: `no gate is open` };
  if (d.gate !== gate.gate)
    return { accepted: false, reason: `gate "${d.gate}" is not open (open: "${gate.gate}")` };
  if (gate.outcome) return { accepted: false, reason: `gate "${gate.gate}" is already ${gate.outcome}` };
  if (policy.allow.length > 0 && !policy.allow.includes(d.approver)) {
    return { accepted: false, reason: `${d.approver} is not on the allow-list` };
  }
  if (!policy.allowSelfApproval && initiator && d.approver === initiator && d.decision === 'approve') {
    return { accepted: false, reason: `${d.approver} started this run and cannot approve it` };
  }
  if (d.decision === 'reject')
    return { accepted: true, reason: `rejected by ${d.approver}`, closes: 'rejected' };
  if (gate.approvals.includes(d.approver))
    return { accepted: false, reason: `${d.approver} already approved` };
  const count = gate.approvals.length + 1;
  if (count >= policy.quorum) {
    return {
      accepted: true,
      reason: `approved by ${[...gate.approvals, d.approver].join(', ')} (${count}/${policy.quorum})`,
      closes: 'approved',
    };
  }
  return { accepted: true, reason: `approval ${count}/${policy.quorum} by ${d.approver}` };
}

/** Apply an accepted decision to the gate (returns a new state). */
export function applyDecision(gate: GateState, d: Decision, result: DecisionResult): GateState {
  if (!result.accepted) return gate;
  return {
    ...gate,
    approvals: d.decision === 'approve' ? [...gate.approvals, d.approver] : gate.approvals,
    ...(result.closes ? { outcome: result.closes } : {}),
  };
}
