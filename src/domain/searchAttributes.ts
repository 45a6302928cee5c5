import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Typed search attributes every runbook sets; `npm run sandbox` registers them on the dev server
// and docker-compose's setup registers them in production.
export const RunbookKind = defineSearchAttributeKey('RunbookKind', SearchAttributeType.KEYWORD);
export const RunbookTarget = defineSearchAttributeKey('RunbookTarget', SearchAttributeType.KEYWORD);
export const RunbookEnvironment = defineSearchAttributeKey('RunbookEnvironment', SearchAttributeType.KEYWORD);
export const RunbookStage = defineSearchAttributeKey('RunbookStage', SearchAttributeType.KEYWORD);
export const RunbookOutcome = defineSearchAttributeKey('RunbookOutcome', SearchAttributeType.KEYWORD);

export const searchAttributeKeys = [
  RunbookKind,
  RunbookTarget,
  RunbookEnvironment,
  RunbookStage,
  RunbookOutcome,
];
