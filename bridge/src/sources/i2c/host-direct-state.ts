/**
 * What host-direct mode keeps across restarts, in the spool directory, as the MCU keeps
 * it in flash: the boot counter (each start is a new boot, so the bridge anchors its
 * uptime afresh) and the energy counters (so they keep counting up).
 *
 * With no state yet, the first boot is one past every boot the bridge has anchored in
 * that directory: a switch from an MCU to host-direct must not reuse an MCU's boot
 * number, or its readings would be stamped with that boot's old anchor.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ENERGY_KEYS, EnergyCounters, zeroEnergy } from '../../../../drivers/energy-counters';
import { AnchorFile } from '../../ingest/state-files';
import { writeFileAtomicSync } from '../../spool/atomic-file';

export const STATE_FILE = 'host-direct.json';

export interface HostDirectState {
  boot: number;
  energy: EnergyCounters;
  /** Why the stored state was not used, when it was there but unusable. */
  problem: string | null;
}

function energyFrom(value: unknown): EnergyCounters | null {
  if (!value || typeof value !== 'object') return null;
  const counters = zeroEnergy() as unknown as { [k: string]: number };
  for (const k of ENERGY_KEYS) {
    const v = (value as { [k: string]: unknown })[k];
    if (typeof v !== 'number' || !(v >= 0 && v < 1e9)) return null;
    counters[k] = v;
  }
  return counters as unknown as EnergyCounters;
}

/** The largest boot number the bridge has anchored in this directory, 0 when none. */
function largestAnchoredBoot(dir: string): number {
  let largest = 0;
  for (const boot of new AnchorFile(dir).load().keys()) if (boot > largest) largest = boot;
  return largest;
}

/** Reads the state and starts the next boot (the caller saves it). */
export function loadHostDirectState(dir: string): HostDirectState {
  const file = path.join(dir, STATE_FILE);
  let text: string | null = null;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      return { boot: largestAnchoredBoot(dir) + 1, energy: zeroEnergy(), problem: `${file}: ${(e as Error).message}` };
    }
  }
  if (text === null) return { boot: largestAnchoredBoot(dir) + 1, energy: zeroEnergy(), problem: null };
  let stored: { boot?: unknown; energy?: unknown } | null = null;
  try {
    stored = JSON.parse(text) as { boot?: unknown; energy?: unknown };
  } catch {
    stored = null;
  }
  const boot = stored?.boot;
  const energy = energyFrom(stored?.energy);
  if (!Number.isSafeInteger(boot) || (boot as number) < 0 || energy === null) {
    return { boot: largestAnchoredBoot(dir) + 1, energy: zeroEnergy(), problem: `${file} is not a host-direct state (boot and eight energy counters); counting from zero` };
  }
  return { boot: Math.max(boot as number, largestAnchoredBoot(dir)) + 1, energy, problem: null };
}

/** Replaces the state file atomically; throws what the file system says. */
export function saveHostDirectState(dir: string, boot: number, energy: EnergyCounters): void {
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomicSync(path.join(dir, STATE_FILE), JSON.stringify({ boot, energy }) + '\n');
}
