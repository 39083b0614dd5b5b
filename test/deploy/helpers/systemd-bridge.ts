/**
 * The bridge as a service runs it: the one-file bundle from `npm run bridge -- --build`
 * under plain node. Built once per test process into a temp directory; serialport, which
 * the bundle leaves external, resolves from the project's node_modules through NODE_PATH.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { makeTempDir, removeDir } from '../../helpers/services';

export const repoRoot = path.join(__dirname, '..', '..', '..');

let built: { file: string; dir: string } | null = null;

export function bridgeBundle(): string {
  if (!built) {
    const dir = makeTempDir('bridge-bundle');
    const file = path.join(dir, 'bridge.js');
    execFileSync(process.execPath, ['scripts/ts-run.js', 'scripts/bridge.ts', '--build', file], { cwd: repoRoot, stdio: 'pipe', timeout: 60000 });
    built = { file, dir };
    const b = built;
    process.once('exit', () => removeDir(b.dir));
  }
  return built.file;
}

/** Environment for running the bundle outside the project tree. */
export function bundleEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, NODE_PATH: path.join(repoRoot, 'node_modules'), ...extra };
}
