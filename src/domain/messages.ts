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
  // ---- DR runbooks (障害復旧手順) ----
  'restore.summary': {
    en: 'Point-in-time restore of {source} to {point} ({environment})',
    ja: '{source} を {point} にポイントインタイムリストア ({environment})',
  },
  'restore.step.preflight': {
    en: 'Check the backups and the restore window of {source}',
    ja: '{source} のバックアップとリストア可能範囲を確認',
  },
  'restore.step.restore': {
    en: 'Restore into the new server {target}',
    ja: '新サーバー {target} へリストア',
  },
  'restore.step.verify': { en: 'Verify the restored data on {target}', ja: '{target} のリストア結果を検証' },
  'restore.step.gate': { en: 'Approval to cut over to {target}', ja: '{target} への切替承認' },
  'restore.step.cutover': {
    en: 'Switch DATABASE_URL to {target} and restart',
    ja: 'DATABASE_URL を {target} に切替えて再起動',
  },
  'restore.step.revert': {
    en: 'Health failed: put the previous connection back',
    ja: 'ヘルスチェック失敗: 接続先を元に戻す',
  },
  'restore.step.report': { en: 'Measure RTO / RPO and report', ja: 'RTO / RPO を計測して報告' },
  'restore.gate.prompt': {
    en: 'Restored {target} (point {point}); verification: {verification}. Approve to switch {apps} to it, reject to keep the current server',
    ja: '{target} にリストア済み (時点 {point})。検証: {verification}。承認で {apps} を切替、却下で現状維持',
  },
  'restore.done': {
    en: '{apps} now on {target}; {recovery}',
    ja: '{apps} は {target} に切替済み; {recovery}',
  },
  'restore.reverted': {
    en: 'Cutover to {target} reverted ({reason}); apps back on {source}',
    ja: '{target} への切替を取り消し ({reason}); {source} に戻しました',
  },
  'restore.notCutOver': {
    en: '{target} restored and kept; apps not switched ({reason})',
    ja: '{target} はリストア済みで保持; アプリは切替なし ({reason})',
  },
  'restore.restoredOnly': {
    en: '{target} restored and verified; {recovery}',
    ja: '{target} をリストアし検証済み; {recovery}',
  },
  'drill.summary': {
    en: 'DR drill: restore {source} to {point} into a scratch server ({environment})',
    ja: 'DR 訓練: {source} を {point} で一時サーバーにリストア ({environment})',
  },
  'drill.step.preflight': { en: 'Check the backups of {source}', ja: '{source} のバックアップを確認' },
  'drill.step.restore': {
    en: 'Restore into scratch server {target}',
    ja: '一時サーバー {target} へリストア',
  },
  'drill.step.verify': { en: 'Verify the restored data', ja: 'リストア結果を検証' },
  'drill.step.measure': { en: 'Measure RTO / RPO', ja: 'RTO / RPO を計測' },
  'drill.step.cleanup': { en: 'Delete scratch server {target}', ja: '一時サーバー {target} を削除' },
  'drill.step.report': { en: 'Report and trend', ja: '報告と傾向' },
  'drill.done': { en: 'Drill {outcome}: {recovery}', ja: '訓練結果 {outcome}: {recovery}' },
  'outage.summary': {
    en: 'Full outage recovery of {app} ({environment})',
    ja: '{app} の全サービスダウン復旧 ({environment})',
  },
  'outage.step.inspect': {
    en: 'Check running state and revisions through ARM',
    ja: 'ARM で稼働状態とリビジョンを確認',
  },
  'outage.step.start': { en: 'Start what is stopped', ja: '停止しているものを起動' },
  'outage.step.redeploy': {
    en: 'Redeploy from the last known-good spec if needed',
    ja: '必要なら最終正常構成から再デプロイ',
  },
  'outage.step.schema': {
    en: 'Check the schema version (alembic_version)',
    ja: 'スキーマバージョン確認 (alembic_version)',
  },
  'outage.step.health': { en: 'Health check', ja: 'ヘルスチェック' },
  'outage.step.report': { en: 'Report', ja: '報告' },
  'outage.done': { en: '{app}: {outcome} ({detail})', ja: '{app}: {outcome} ({detail})' },
} as const satisfies Record<string, Record<Lang, string>>;

export type MessageKey = keyof typeof catalogue;

export function t(lang: Lang, key: MessageKey, vars: Record<string, string | number> = {}): string {
  return catalogue[key][lang].replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name] ?? `{${name}}`));
}
