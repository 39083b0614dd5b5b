/**
 * The built firmware bundle for tests that run it (simulator shim, end to end). Builds
 * it once per test process when it is missing or older than any firmware/hardware
 * source, so a test never runs a stale bundle.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const root = path.join(__dirname, '..', '..');
export const FIRMWARE_BUNDLE = path.join(root, 'firmware', 'dist', 'firmware.js');
let built = false;

function newestSource(): number {
  let newest = 0;
  const scan = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) scan(full);
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(full).mtimeMs);
    }
  };
  scan(path.join(root, 'firmware', 'src'));
  scan(path.join(root, 'hardware'));
  newest = Math.max(newest, fs.statSync(path.join(root, 'scripts', 'build-firmware.ts')).mtimeMs);
  return newest;
}

/** Path of an up-to-date firmware/dist/firmware.js (throws with the build's output if it fails). */
export function ensureFirmwareBundle(): string {
  if (built && fs.existsSync(FIRMWARE_BUNDLE)) return FIRMWARE_BUNDLE;
  const fresh = fs.existsSync(FIRMWARE_BUNDLE) && fs.statSync(FIRMWARE_BUNDLE).mtimeMs >= newestSource();
  if (!fresh) {
    const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'ts-run.js'), path.join(root, 'scripts', 'build-firmware.ts')], {
      cwd: root, encoding: 'utf8', timeout: 120000,
    });
    if (r.status !== 0) throw new Error(`firmware build failed:\n${r.stdout}${r.stderr}`);
  }
  built = true;
  return FIRMWARE_BUNDLE;
}
