// `npm run build`: prebundle the workflows so `npm start` does not need webpack at startup.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { bundlePath } from '../src/worker';

async function main() {
  const { code } = await bundleWorkflowCode({ workflowsPath: path.resolve(__dirname, '../src/workflows') });
  mkdirSync(path.dirname(bundlePath), { recursive: true });
  writeFileSync(bundlePath, code);
  console.log(`wrote ${path.relative(process.cwd(), bundlePath)} (${(code.length / 1024).toFixed(0)} KiB)`);
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
