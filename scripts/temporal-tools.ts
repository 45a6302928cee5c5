// `npm run tools`: find or install the Temporal CLI and test server, and say where each came from.
import { findTool, ToolError, type ToolName } from '../src/sandbox/tools';

const names: ToolName[] = ['temporal', 'temporal-test-server'];
let failed = false;
for (const name of names) {
  try {
    const tool = findTool(name);
    console.log(`${name}: ${tool.path} (from ${tool.source})`);
  } catch (err) {
    if (!(err instanceof ToolError)) throw err;
    console.error(`${name}: ${err.message}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
