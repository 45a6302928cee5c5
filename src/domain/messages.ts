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
  'dryRun.plan': { en: 'Dry run: nothing was probed; this is the plan', ja: 'ドライラン: 実行せず計画のみ' },
  'step.running': { en: 'Step {index}/{total}: {title}', ja: 'ステップ {index}/{total}: {title}' },
} as const satisfies Record<string, Record<Lang, string>>;

export type MessageKey = keyof typeof catalogue;

export function t(lang: Lang, key: MessageKey, vars: Record<string, string | number> = {}): string {
  return catalogue[key][lang].replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name] ?? `{${name}}`));
}
