/**
 * Firmware size: the built bundle against its flash budget (what the Espruino Pico keeps
 * for the saved program). Not a speed, but the figure every firmware change pays into.
 * RAM (JsVars) needs Espruino's own interpreter, which CI cannot build: see firmware/README.md.
 */
import fs from 'node:fs';
import { BUDGET_BYTES } from '../../scripts/build-firmware';
import { ensureFirmwareBundle } from '../helpers/firmware-bundle';
import type { BenchRow } from './bench-row';

export async function run(): Promise<BenchRow[]> {
  const bytes = fs.statSync(ensureFirmwareBundle()).size;
  console.log(`| firmware bundle | ${bytes} bytes | budget ${BUDGET_BYTES} | ${(bytes / BUDGET_BYTES * 100).toFixed(1)} % |`);
  return [{
    what: 'firmware bundle size',
    value: `${bytes.toLocaleString('en-US')} bytes (${(bytes / BUDGET_BYTES * 100).toFixed(1)} % of budget)`,
    goal: `≤ ${BUDGET_BYTES.toLocaleString('en-US')} bytes`,
    met: bytes <= BUDGET_BYTES,
  }];
}
