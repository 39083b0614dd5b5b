/**
 * npm run sim -- --scenario NAME [--hours H] [--seed S] [--out DIR] [--serve tcp:PORT|pty:PATH] [--speed N]
 *
 * Runs a scenario with the firmware bundle in the simulated MCU. Without --serve it runs
 * as fast as it can (or at --speed N × real time); with --serve the firmware's serial
 * port is exposed and the run is paced (default 1× real time) so a bridge sees it as it
 * would see hardware. Ends with one summary line on stdout.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { EndpointSpec, SerialEndpoint, parseEndpoint, startEndpoint } from './endpoints';
import { ensureDefaultBundle } from './firmware-bundle';
import { outputPaths, writeOutputs } from './outputs';
import { runPaced } from './runner';
import { SCENARIOS, scenarioNames } from './scenarios';
import { Simulation } from './simulation';
import type { SocEstimator } from './reading-row';

export interface CliOptions {
  scenario: string;
  hours?: number;
  seed: number;
  out?: string;
  serve?: EndpointSpec;
  speed?: number;
  firmware?: string;
  storage?: string;
  quiet: boolean;
}

export class UsageError extends Error {}

export function usage(): string {
  const names = scenarioNames().map((n) => `    ${n.padEnd(13)} ${SCENARIOS[n].description} (${SCENARIOS[n].hours} h)`).join('\n');
  return `usage: npm run sim -- [--scenario NAME] [--hours H] [--seed S] [--out DIR]
                      [--serve tcp:PORT | tcp:HOST:PORT | pty:PATH] [--speed N]
                      [--firmware FILE] [--storage FILE] [--quiet]

Runs the firmware bundle (firmware/dist/firmware.js, rebuilt if stale) on a simulated
MCU wired to a simulated plant: AGM bank, panels and weather, MP3735, HEP-600C-12, the
cluster load and two INA219s.

  --scenario NAME   what happens (default day):
${names}
  --hours H         simulated duration (default: the scenario's)
  --seed S          integer seed for every random process (default 1); the same seed
                    gives an identical readings.csv
  --out DIR         write DIR/readings.csv, DIR/run.json and DIR/chart.svg
  --serve SPEC      expose the firmware's serial port: tcp:PORT (127.0.0.1), tcp:HOST:PORT,
                    or pty:PATH (a pseudo-terminal made with socat); the run is then
                    paced at --speed (default 1) so a bridge can connect as to hardware
  --speed N         N × real time (default: as fast as possible without --serve)
  --firmware FILE   run this bundle instead of firmware/dist/firmware.js
  --storage FILE    keep the MCU's flash (Storage) in this JSON file across runs
  --quiet           no progress bar
  --help            this text

Exit status: 0 when the run completed, the firmware reported its settings and the
comparator check found no violation; 1 otherwise; 2 for bad arguments; 130 when
interrupted (Ctrl-C), after writing the outputs of the part that ran.`;
}

export function parseArgs(argv: string[]): CliOptions | 'help' {
  const parsed: CliOptions = { scenario: 'day', seed: 1, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    const number = (lo: number, integer: boolean): number => {
      const s = value();
      const n = Number(s);
      if (s.trim() === '' || !Number.isFinite(n) || n < lo || (integer && !Number.isInteger(n))) {
        throw new UsageError(`${flag} needs ${integer ? 'an integer' : 'a number'} ≥ ${lo}, got ${s}`);
      }
      return n;
    };
    switch (flag) {
      case '--help': case '-h': return 'help';
      case '--scenario': {
        parsed.scenario = value();
        if (!SCENARIOS[parsed.scenario]) throw new UsageError(`unknown scenario "${parsed.scenario}"; known: ${scenarioNames().join(', ')}`);
        break;
      }
      case '--hours': parsed.hours = number(0, false); if (parsed.hours === 0) throw new UsageError('--hours must be above 0'); break;
      case '--seed': parsed.seed = number(0, true); if (parsed.seed > 4294967295) throw new UsageError('--seed must fit 32 bits'); break;
      case '--out': parsed.out = value(); break;
      case '--serve': {
        try {
          parsed.serve = parseEndpoint(value());
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
        break;
      }
      case '--speed': parsed.speed = number(0, false); if (parsed.speed === 0) throw new UsageError('--speed must be above 0'); break;
      case '--firmware': parsed.firmware = value(); break;
      case '--storage': parsed.storage = value(); break;
      case '--quiet': parsed.quiet = true; break;
      default: throw new UsageError(`unknown argument ${flag} (try --help)`);
    }
  }
  return parsed;
}

function formatHours(s: number): string {
  return (s / 3600).toFixed(s < 36000 ? 2 : 1) + ' h';
}

class Progress {
  private last = 0;
  private readonly enabled: boolean;
  constructor(quiet: boolean) {
    this.enabled = !quiet && process.stderr.isTTY === true;
  }
  update(fraction: number, detail: string): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.last < 100 && fraction < 1) return;
    this.last = now;
    const width = 30;
    const filled = Math.round(fraction * width);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${detail}\x1b[K`);
  }
  done(): void {
    if (this.enabled) process.stderr.write('\r\x1b[K');
  }
}

/** What the caller of the command line may attach: scripts/sim.ts attaches the bridge's battery estimator. */
export interface CliHooks {
  socEstimator?: () => SocEstimator;
}

export async function main(argv: string[], hooks: CliHooks = {}): Promise<number> {
  let opts: CliOptions | 'help';
  try {
    opts = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`sim: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (opts === 'help') {
    process.stdout.write(usage() + '\n');
    return 0;
  }
  const log = (msg: string): void => { process.stderr.write(`sim: ${msg}\n`); };
  const bundle = opts.firmware ?? ensureDefaultBundle(log);
  if (!fs.existsSync(bundle)) {
    log(`firmware bundle ${bundle} not found`);
    return 2;
  }
  const code = fs.readFileSync(bundle, 'utf8');
  if (opts.out) fs.mkdirSync(opts.out, { recursive: true });
  const paths = opts.out ? outputPaths(opts.out) : null;
  let endpoint: SerialEndpoint | null = null;
  const sim = new Simulation({
    scenario: opts.scenario,
    seed: opts.seed,
    hours: opts.hours,
    firmware: { code, filename: path.basename(bundle) },
    csvPath: paths?.csv,
    storagePath: opts.storage,
    onSerial: (data) => endpoint?.write(data),
    socEstimator: hooks.socEstimator?.(),
  });
  const progress = new Progress(opts.quiet);
  const wallStart = performance.now();
  const clockText = (): string => {
    const h = (sim.scenario.startHour + sim.clock.now / 3600) % 24;
    const hh = Math.floor(h);
    return `${formatHours(sim.clock.now)} of ${formatHours(sim.endS)} (local ${String(hh).padStart(2, '0')}:${String(Math.floor((h - hh) * 60)).padStart(2, '0')})`;
  };
  let failure: unknown = null;
  let interrupted = false;
  const onSigint = (): void => { interrupted = true; };
  try {
    if (opts.serve) {
      endpoint = await startEndpoint(opts.serve, (data) => sim.hostInput(data));
      log(`serial port of the simulated MCU at ${endpoint.address} (${opts.speed ?? 1}× real time)`);
    }
    const speed = opts.speed ?? (opts.serve ? 1 : Infinity);
    // Ctrl-C ends the run early but still writes what was simulated.
    process.on('SIGINT', onSigint);
    if (speed === Infinity) {
      const chunk = Math.max(60, sim.endS / 500);
      while (!sim.done && !interrupted) {
        sim.runUntil(sim.clock.now + chunk);
        progress.update(sim.clock.now / sim.endS, clockText());
        await new Promise((resolve) => setImmediate(resolve));
      }
      sim.finish();
    } else {
      await runPaced(sim, { speed, stop: () => interrupted, onProgress: (f) => progress.update(f, clockText()) });
    }
  } catch (e) {
    failure = e;
    sim.finish();
  } finally {
    process.off('SIGINT', onSigint);
    progress.done();
    if (endpoint) await endpoint.close();
  }
  const wallS = (performance.now() - wallStart) / 1000;
  if (opts.out) {
    writeOutputs(sim, opts.out, {
      firmwareBundle: path.resolve(bundle),
      wallSeconds: wallS,
      stoppedEarly: failure !== null || interrupted,
      failure: failure ? String((failure as Error).message ?? failure) : null,
    });
  }
  const comparison = sim.comparatorResult;
  const readings = sim.chart.rows;
  let on = 0;
  for (let b = 0; b < sim.chart.points; b++) on += sim.chart.series.chg.sum[b];
  const parts = [
    `sim ${sim.scenario.name} seed=${sim.seed}: ${formatHours(sim.clock.now)} simulated in ${wallS.toFixed(1)} s (${Math.round(sim.clock.now / Math.max(wallS, 1e-3))}× real time)`,
    `${readings} readings, ${sim.frames.total} frames, ${sim.frames.lines - sim.frames.total} other lines`,
    `${sim.mcu.resets.length} MCU resets`,
    `charger ON ${readings ? Math.round(on / readings * 100) : 0}% of polls`,
    comparison ? `comparator check ${comparison.violations} violations in ${comparison.checked} polls` : 'no thresholds from the firmware',
  ];
  if (opts.out) parts.push(`wrote ${opts.out}`);
  process.stdout.write(parts.join('; ') + '\n');
  if (failure) {
    log(`stopped: ${(failure as Error).message ?? failure}`);
    return 1;
  }
  if (interrupted) {
    log('interrupted: outputs cover the simulated part only');
    return 130;
  }
  if (comparison && comparison.violations > 0) {
    for (const v of comparison.examples.slice(0, 3)) log(`comparator violation at t=${v.t.toFixed(1)} s: ${v.detail}`);
    return 1;
  }
  if (!comparison && !interrupted) return 1;
  return 0;
}

