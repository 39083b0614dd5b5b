/** The bundle a deployment runs (npm run bridge -- --build), built fresh for a benchmark. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../bridge/helpers/bridge-harness';

export const BUNDLE = path.join(repoRoot, 'bridge', 'dist', 'bridge.js');

/** Builds bridge/dist/bridge.js from the sources as they are now; returns its path. */
export function buildBundle(): string {
  const r = spawnSync(process.execPath, ['scripts/ts-run.js', 'scripts/bridge.ts', '--build', BUNDLE], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bundle build failed: ${r.stderr}`);
  return BUNDLE;
}
