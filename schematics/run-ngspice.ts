/**
 * Runs ngspice in batch mode on a netlist and reads back the columns its `wrdata` lines
 * wrote, then turns sweeps into trip points and REMOTE levels.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MAINS_CHARGER } from '../hardware';
import { Netlist } from './netlists';

export const SETUP_HINT = 'ngspice is not installed or not on PATH: run `npm run setup` (installs Debian\'s ngspice)';

/** One wrdata file: vectors by their ngspice names ("time", "v(out_b)", "v-sweep"). */
export type Columns = Record<string, number[]>;

export interface RunOptions {
  /** The ngspice executable; NGSPICE in the environment overrides the default. */
  binary?: string;
  timeoutMs?: number;
}

export interface RunResult {
  /** Data per file name in Netlist.dataFiles. */
  data: Record<string, Columns>;
  /** ngspice's stdout and stderr, for error messages. */
  log: string;
}

function defaultBinary(): string {
  return process.env.NGSPICE || 'ngspice';
}

/** Parses `wrdata` output written with wr_singlescale and wr_vecnames: a header row, then numbers. */
export function parseWrdata(text: string): Columns {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  if (lines.length < 2) throw new Error('wrdata file has no data rows');
  const names = lines[0].split(/\s+/);
  const cols: Columns = {};
  for (const n of names) cols[n] = [];
  for (let i = 1; i < lines.length; i++) {
    const parts = lines[i].split(/\s+/);
    if (parts.length !== names.length) throw new Error(`wrdata row ${i} has ${parts.length} values, header has ${names.length}`);
    for (let j = 0; j < names.length; j++) {
      const v = Number(parts[j]);
      if (!Number.isFinite(v)) throw new Error(`wrdata row ${i}: not a number: ${parts[j]}`);
      cols[names[j]].push(v);
    }
  }
  return cols;
}

function exec(binary: string, args: string[], cwd: string, timeoutMs: number): Promise<{ code: number | null; out: string; missing: boolean; timedOut: boolean }> {
  return new Promise((resolve) => {
    execFile(binary, args, { cwd, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const out = `${stdout}${stderr}`;
      if (!err) { resolve({ code: 0, out, missing: false, timedOut: false }); return; }
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: unknown };
      resolve({
        code: typeof e.code === 'number' ? e.code : null,
        out,
        missing: e.code === 'ENOENT',
        timedOut: e.killed === true,
      });
    });
  });
}

/**
 * Runs `ngspice -b` in a fresh directory under os.tmpdir() (the netlists write their data
 * files to the working directory) and returns the parsed files. Rejects with SETUP_HINT
 * when ngspice is missing, and with the log when it fails or writes nothing.
 */
export async function runNgspice(netlist: Netlist, opts: RunOptions = {}): Promise<RunResult> {
  const binary = opts.binary ?? defaultBinary();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ngspice-'));
  try {
    const file = path.join(dir, `${netlist.name}.cir`);
    await writeFile(file, netlist.text);
    const r = await exec(binary, ['-b', file], dir, opts.timeoutMs ?? 20000);
    if (r.missing) throw new Error(`${SETUP_HINT} (tried "${binary}")`);
    if (r.timedOut) throw new Error(`ngspice timed out after ${opts.timeoutMs ?? 20000} ms on ${netlist.name}\n${r.out}`);
    // The netlists end with `quit 0`, so a non-zero exit is a real netlist or analysis error.
    if (r.code !== 0 || /^\s*Error/m.test(r.out)) throw new Error(`ngspice failed on ${netlist.name} (exit ${r.code})\n${r.out}`);
    const data: Record<string, Columns> = {};
    for (const f of netlist.dataFiles) {
      let text: string;
      try {
        text = await readFile(path.join(dir, f), 'utf8');
      } catch {
        throw new Error(`ngspice wrote no ${f} for ${netlist.name}\n${r.out}`);
      }
      data[f] = parseWrdata(text);
    }
    return { data, log: r.out };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `ngspice --version`'s first version line; rejects with SETUP_HINT when it is missing. */
export async function ngspiceVersion(opts: RunOptions = {}): Promise<string> {
  const binary = opts.binary ?? defaultBinary();
  const r = await exec(binary, ['--version'], os.tmpdir(), opts.timeoutMs ?? 10000);
  if (r.missing) throw new Error(`${SETUP_HINT} (tried "${binary}")`);
  const m = /ngspice-(\d+)/.exec(r.out);
  if (!m) throw new Error(`"${binary} --version" did not report a version:\n${r.out}`);
  return `ngspice-${m[1]}`;
}

export function column(cols: Columns, name: string): number[] {
  const c = cols[name];
  if (!c) throw new Error(`no vector ${name} in ngspice output (have ${Object.keys(cols).join(', ')})`);
  return c;
}

export interface Crossing {
  /** Sample index just after the crossing. */
  index: number;
  /** 'up' when y goes from below to above the level. */
  direction: 'up' | 'down';
  /** x linearly interpolated at the crossing. */
  x: number;
}

/** Every crossing of `level` by y, with x interpolated between the two samples around it. */
export function crossings(x: number[], y: number[], level: number): Crossing[] {
  const out: Crossing[] = [];
  for (let i = 1; i < y.length; i++) {
    const a = y[i - 1] - level;
    const b = y[i] - level;
    if ((a < 0 && b >= 0) || (a >= 0 && b < 0)) {
      const f = a / (a - b);
      out.push({ index: i, direction: b >= 0 ? 'up' : 'down', x: x[i - 1] + f * (x[i] - x[i - 1]) });
    }
  }
  return out;
}

export interface SimulatedTrips {
  /** Input voltages where OUT went high (released) — one per upward pass. */
  rising: number[];
  /** Input voltages where OUT went low (charger demanded ON) — one per downward pass. */
  falling: number[];
}

/**
 * Trip points of a comparator from a sweep: the input voltage at each crossing of OUT
 * through VCC/2. OUT switches regeneratively, so the crossing pins the trip to within a
 * sample of the input.
 */
export function tripPoints(input: number[], out: number[], vcc: number): SimulatedTrips {
  const c = crossings(input, out, vcc / 2);
  return {
    rising: c.filter((k) => k.direction === 'up').map((k) => k.x),
    falling: c.filter((k) => k.direction === 'down').map((k) => k.x),
  };
}

export type RemoteLevel = 'charger ON' | 'charger OFF' | 'undefined';

/** What the HEP-600C-12 makes of a REMOTE voltage, with the thresholds from hardware/. */
export function remoteLevel(v: number): RemoteLevel {
  if (v < MAINS_CHARGER.remoteOnBelowV) return 'charger ON';
  if (v > MAINS_CHARGER.remoteOffAboveV) return 'charger OFF';
  return 'undefined';
}
