/**
 * Where the CLI finds the firmware bundle: firmware/dist/firmware.js, rebuilt (as
 * `npm run build:firmware` does) when it is missing or older than any TypeScript source
 * it is built from. The tests use test/helpers/firmware-bundle.ts, which applies the
 * same rule.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');
export const DEFAULT_BUNDLE = path.join(ROOT, 'firmware', 'dist', 'firmware.js');
const SOURCES = [path.join(ROOT, 'firmware', 'src'), path.join(ROOT, 'hardware'), path.join(ROOT, 'scripts', 'build-firmware.ts')];

function newestMtime(p: string): number {
  if (!fs.existsSync(p)) return 0;
  const st = fs.statSync(p);
  if (!st.isDirectory()) return p.endsWith('.ts') ? st.mtimeMs : 0;
  let newest = 0;
  for (const entry of fs.readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, entry)));
  return newest;
}

export function bundleIsStale(bundle = DEFAULT_BUNDLE): boolean {
  if (!fs.existsSync(bundle)) return true;
  const built = fs.statSync(bundle).mtimeMs;
  return SOURCES.some((s) => newestMtime(s) > built);
}

/** Returns the default bundle's path, building it first if needed; `log` hears what happens. */
export function ensureDefaultBundle(log: (msg: string) => void): string {
  if (bundleIsStale()) {
    log(fs.existsSync(DEFAULT_BUNDLE) ? 'firmware bundle is older than its sources: rebuilding it' : 'no firmware bundle yet: building it');
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'ts-run.js'), path.join(ROOT, 'scripts', 'build-firmware.ts')], {
      cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (r.status !== 0) throw new Error(`the firmware build failed (exit ${r.status}); see its output above`);
  }
  return DEFAULT_BUNDLE;
}
