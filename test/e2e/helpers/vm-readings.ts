/**
 * Readings as VictoriaMetrics holds them after a fault run, and, when some are missing,
 * the evidence for why, put into the failure message: a loss that happens once in many
 * runs must explain itself the first time, because the run's directories are gone after.
 *
 * The evidence: the missing readings as runs in emission order; where each run's first
 * reading should be (its boot-anchored timestamp, from the bridge's anchor file and the
 * uptime the firmware emitted) and what VictoriaMetrics holds around that timestamp; how
 * the bridge's InfluxDB sink fared (parked points, warnings); VictoriaMetrics' own log.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AnchorFile, uptimeMs } from '../../../bridge/src';
import type { VictoriaMetricsService, VmSeries } from '../../helpers/services';
import type { BridgeUnderTest } from './bridge-under-test';
import { EmittedFrames, describeRuns, missingRuns, readingKey } from './emitted-frames';

/** Every (boot, seq) stored as charger_seq/charger_boot for a device, in timestamp order. */
export interface StoredReadings {
  keys: string[];
  /** Timestamps at which seq and boot do not pair up (one without the other, or two of either). */
  unpaired: number;
  /** Lines the export returned per metric: more than one means VM holds the device's readings as several series. */
  seriesLines: { seq: number; boot: number };
}

/**
 * Pairs seq and boot by timestamp over every series line VictoriaMetrics returns: it may
 * return one label set as several lines (a series it registered twice), and reading only
 * the first line would hide the rest.
 */
export async function storedReadings(vm: VictoriaMetricsService, device: string): Promise<StoredReadings> {
  const seqLines = await vm.export(`charger_seq{device="${device}"}`);
  const bootLines = await vm.export(`charger_boot{device="${device}"}`);
  const byTs = new Map<number, { seq: number[]; boot: number[] }>();
  const collect = (lines: VmSeries[], field: 'seq' | 'boot'): void => {
    for (const l of lines) {
      l.timestamps.forEach((ts, i) => {
        let e = byTs.get(ts);
        if (!e) byTs.set(ts, e = { seq: [], boot: [] });
        e[field].push(l.values[i]);
      });
    }
  };
  collect(seqLines, 'seq');
  collect(bootLines, 'boot');
  const keys: string[] = [];
  let unpaired = 0;
  for (const ts of [...byTs.keys()].sort((a, b) => a - b)) {
    const e = byTs.get(ts)!;
    if (e.seq.length !== 1 || e.boot.length !== 1) unpaired++;
    for (let i = 0; i < Math.min(e.seq.length, e.boot.length); i++) keys.push(readingKey(e.boot[i], e.seq[i]));
  }
  return { keys, unpaired, seriesLines: { seq: seqLines.length, boot: bootLines.length } };
}

/** What the final export showed, and how long VictoriaMetrics took to show all of it. */
export interface SettledReadings {
  stored: StoredReadings;
  /** Expected readings the first export after the bridge's confirmation did not show. */
  missingAtFirst: number;
  /** The first of them in emission order ('' when none). */
  firstMissingKey: string;
  waitedMs: number;
}

/**
 * The device's stored readings once every expected one shows and the export has stopped
 * growing, or as they stand after `timeoutMs`. VictoriaMetrics 1.79 (Debian's) can leave
 * the newest few hundred thousand rows out of an export for a few seconds after
 * confirming them, /internal/force_flush notwithstanding: replaying this suite's writes
 * straight into it, 6 of 30 first exports missed the newest 3,000-12,000 readings, all
 * there 2.8-6.1 s later; a fault run that exported once, the moment the bridge's sink was
 * confirmed, saw its last 12,432 readings "missing", and one that waited saw its last
 * 2,532 appear 2.7 s after the first export. So: wait until all show, then for
 * `quietMs` more, so that a late row (a second copy of a reading) shows too before the
 * exactly-once check. A reading that is really lost is still missing when the wait ends.
 */
export async function settledReadings(vm: VictoriaMetricsService, device: string, expected: readonly string[], timeoutMs = 60000, quietMs = 8000): Promise<SettledReadings> {
  const t0 = Date.now();
  let missingAtFirst = -1;
  let firstMissingKey = '';
  let complete: StoredReadings | null = null;
  for (;;) {
    const stored = await storedReadings(vm, device);
    const have = new Set(stored.keys);
    const missing = expected.reduce((n, k) => n + (have.has(k) ? 0 : 1), 0);
    if (missingAtFirst < 0) {
      missingAtFirst = missing;
      firstMissingKey = expected.find((k) => !have.has(k)) ?? '';
    }
    const waitedMs = Date.now() - t0;
    const done = (missing === 0 && complete !== null && complete.keys.length === stored.keys.length) || waitedMs >= timeoutMs;
    if (done) return { stored, missingAtFirst, firstMissingKey, waitedMs };
    complete = missing === 0 ? stored : null;
    await new Promise((r) => setTimeout(r, complete ? quietMs : 500));
  }
}

function tail(file: string, lines: number, keep: (line: string) => boolean = () => true): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return `(${path.basename(file)}: ${(e as Error).message})`;
  }
  return text.split('\n').filter((l) => l.trim() && keep(l)).slice(-lines).join('\n') || '(nothing)';
}

export interface GapEvidence {
  vm: VictoriaMetricsService;
  device: string;
  emitted: EmittedFrames;
  missing: readonly string[];
  stored: StoredReadings;
  bridge: BridgeUnderTest;
  /** The bridge's spool directory (anchor file, parked points). */
  spoolDir: string;
  /** Where the bridge processes' logs are (bridge-N.log). */
  logDir: string;
}

/** A readable account of the missing readings and of what every party said; never throws. */
export async function describeVmGap(o: GapEvidence): Promise<string> {
  const out: string[] = [];
  const runs = missingRuns(o.emitted, o.missing);
  out.push(`${o.missing.length} of ${o.emitted.readings.length} emitted readings missing, in ${runs.length} run(s) of consecutive readings: ${describeRuns(runs)}`);
  out.push(`VictoriaMetrics holds ${o.stored.keys.length} readings; export lines: charger_seq ${o.stored.seriesLines.seq}, charger_boot ${o.stored.seriesLines.boot}; `
    + `${o.stored.unpaired} timestamp(s) where seq and boot do not pair up`);
  const anchors = new AnchorFile(o.spoolDir).load();
  out.push(`boot anchors (ms): ${[...anchors].map(([b, a]) => `boot ${b} ${a}`).join(', ') || 'none'}`);
  for (const r of runs.slice(0, 3)) {
    const boot = Number(r.first.split(':')[0]);
    const up = o.emitted.upOf.get(r.first);
    const anchor = anchors.get(boot);
    if (up === undefined || anchor === undefined) {
      out.push(`${r.first}: no ${up === undefined ? 'uptime' : 'anchor'} to place it`);
      continue;
    }
    const ts = anchor + uptimeMs(up);
    out.push(`${r.first} (up ${up} s) belongs at ${ts} (${new Date(ts).toISOString()}); VictoriaMetrics holds within 10 s of it:`);
    try {
      const range = { startMs: ts - 10000, endMs: ts + 10000 };
      const seqs = await o.vm.export(`charger_seq{device="${o.device}"}`, range);
      const boots = await o.vm.export(`charger_boot{device="${o.device}"}`, range);
      const bootAt = new Map<number, number>();
      for (const l of boots) l.timestamps.forEach((t, i) => bootAt.set(t, l.values[i]));
      const near: string[] = [];
      for (const l of seqs) l.timestamps.forEach((t, i) => near.push(`${t - ts >= 0 ? '+' : ''}${t - ts} ms ${bootAt.get(t) ?? '?'}:${l.values[i]}`));
      out.push(`  ${near.join(', ') || 'nothing'}`);
    } catch (e) {
      out.push(`  (export failed: ${(e as Error).message})`);
    }
  }
  out.push(`bridge totals: readings ${o.bridge.total('readings')}, influx points sent ${o.bridge.total('influxSent')}, parked ${o.bridge.total('parked')}, `
    + `influx pending ${o.bridge.last?.influxPending ?? '?'}, spool dropped ${o.bridge.total('spoolDropped')}`);
  out.push(`parked points (head):\n${tail(path.join(o.spoolDir, 'parked-influx.lp'), 6)}`);
  for (const f of fs.readdirSync(o.logDir).filter((n) => /^bridge-\d+\.log$/.test(n)).sort()) {
    out.push(`${f}, warnings and errors (tail):\n${tail(path.join(o.logDir, f), 12, (l) => /warn|error|fatal/i.test(l))}`);
  }
  try {
    out.push(`VictoriaMetrics counters since it last started:\n${await o.vm.ingestCounters()}`);
  } catch (e) {
    out.push(`(VictoriaMetrics /metrics: ${(e as Error).message})`);
  }
  out.push(`VictoriaMetrics log (tail):\n${tail(o.vm.logFile, 20)}`);
  return out.join('\n');
}
