/**
 * The firmware bundle the simulator tests run: the project's build
 * (test/helpers/firmware-bundle.ts), or SIM_FIRMWARE_BUNDLE=FILE to run the same tests
 * against another build of it.
 */
import fs from 'node:fs';
import { ensureFirmwareBundle } from '../helpers/firmware-bundle';

export function firmwareBundlePath(): string {
  return process.env.SIM_FIRMWARE_BUNDLE ?? ensureFirmwareBundle();
}

export function firmwareBundle(): { code: string; filename: string } {
  const file = firmwareBundlePath();
  return { code: fs.readFileSync(file, 'utf8'), filename: file };
}
