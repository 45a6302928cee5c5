// Operator-facing text in one place, English and Japanese (the team's manual is Japanese).

export type Lang = 'en' | 'ja';

const catalogue = {
  'health.step.read': {
    en: 'Read the app and its revisions through ARM',
    ja: 'ARM でアプリとリビジョンを取得',
  },
  'health.step.ingress': { en: 'Probe /health through the ingress', ja: 'イングレス経由で /health を確認' },
  'health.step.revisions': {
    en: 'Probe /health of each active revision',
    ja: '各アクティブリビジョンの /health を確認',
  },
  'health.step.report': { en: 'Judge and report', ja: '判定とレポート' },
  'health.summary': {
    en: 'Health check of {app} ({environment})',
    ja: '{app} のヘルスチェック ({environment})',
  },
  'health.verdict': { en: '{app} is {verdict}', ja: '{app} の判定: {verdict}' },
  'dryRun.plan': { en: 'Dry run: nothing was changed; this is the plan', ja: 'ドライラン: 実行せず計画のみ' },
  'step.running': { en: 'Step {index}/{total}: {title}', ja: 'ステップ {index}/{total}: {title}' },
  'canary.summary': {
    en: 'Canary of {image} on {app} ({environment})',
    ja: '{app} へ {image} のカナリアデプロイ ({environment})',
  },
  'canary.step.snapshot': {
    en: 'Snapshot the app: stable revision, traffic, mode',
    ja: 'アプリの現状取得: 安定リビジョン・トラフィック・モード',
  },
  'canary.step.deploy': {
    en: 'Deploy {image} as a new revision',
    ja: '{image} を新リビジョンとしてデプロイ',
  },
  'canary.step.ready': {
    en: 'Wait until {revision} is provisioned and healthy',
    ja: '{revision} の起動と正常性を確認',
  },
  'canary.step.traffic': {
    en: 'Shift traffic step by step with analysis',
    ja: '段階的にトラフィックを切替 (分析付き)',
  },
  'canary.step.promote': { en: 'Promote: 100% on {revision}', ja: '昇格: {revision} に 100%' },
  'canary.gate.prompt': {
    en: 'Canary {canary} at {weight}%: approve to continue to the next step, reject to roll back',
    ja: 'カナリア {canary} は {weight}%: 承認で次のステップへ、却下でロールバック',
  },
  'canary.hold.prompt': {
    en: 'Analysis inconclusive at {weight}%: resume/approve to continue, abort to roll back',
    ja: '{weight}% で分析結果が不確定: resume/承認で続行、abort でロールバック',
  },
  'canary.promoted': {
    en: '{canary} promoted; rollback possible until {until}',
    ja: '{canary} を昇格; {until} までロールバック可能',
  },
  'canary.rolledBack': { en: 'Rolled back to {stable}: {reason}', ja: '{stable} にロールバック: {reason}' },
  'lock.waiting': { en: 'Waiting for the lock on {resource}', ja: '{resource} のロック待ち' },
} as const satisfies Record<string, Record<Lang, string>>;

export type MessageKey = keyof typeof catalogue;

export function t(lang: Lang, key: MessageKey, vars: Record<string, string | number> = {}): string {
  return catalogue[key][lang].replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name] ?? `{${name}}`));
}
