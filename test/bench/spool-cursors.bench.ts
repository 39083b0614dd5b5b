/**
 * What one save of the sink cursors costs (2 sinks, the bridge's MQTT and InfluxDB): the
 * cursor file's way (cursors.bin, one pwrite of a slot and one fdatasync, SinkCursors)
 * beside the way before it, done here with plain fs calls for the comparison: a
 * cursor-<sink>.json per sink, each written to a temporary file, fsynced, renamed over,
 * and the directory fsynced. Wall time (it waits for the disk) and CPU of this process,
 * per save, on the disk holding the OS temporary directory.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SinkCursors } from '../../bridge/src';
import type { BenchRow } from './bench-row';

const SAVES = 300;
const SINKS = ['mqtt', 'influx'];

function perSinkFiles(dir: string, i: number): void {
  for (const sink of SINKS) {
    const file = path.join(dir, `cursor-${sink}.json`);
    const tmp = file + '.tmp';
    const fd = fs.openSync(tmp, 'w');
    fs.writeSync(fd, JSON.stringify({ offset: i * 300, index: i }) + '\n');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
    const d = fs.openSync(dir, 'r');
    fs.fsyncSync(d);
    fs.closeSync(d);
  }
}

function measure(save: (i: number) => void): { wallUs: number; cpuUs: number } {
  for (let i = 1; i <= 10; i++) save(i); // warm: files exist, code compiled
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 11; i < 11 + SAVES; i++) save(i);
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000 / SAVES;
  const cpu = process.cpuUsage(cpu0);
  return { wallUs, cpuUs: (cpu.user + cpu.system) / SAVES };
}

export async function run(): Promise<BenchRow[]> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cursor-bench-'));
  try {
    const oldDir = path.join(root, 'old');
    const newDir = path.join(root, 'new');
    fs.mkdirSync(oldDir);
    fs.mkdirSync(newDir);
    const before = measure((i) => perSinkFiles(oldDir, i));
    const start = { offset: 0, index: 0 };
    const end = { offset: 1e12, index: 1e9 };
    const cursors = new SinkCursors(newDir, SINKS, start, start, 0, (m) => { throw new Error(m); });
    const now = measure((i) => {
      for (const sink of SINKS) cursors.move(sink, { offset: i * 300, index: i });
      cursors.save(end.offset);
    });
    cursors.close();
    console.log(`| cursor save, ${SINKS.length} sinks (${SAVES} saves) | wall µs/save | CPU µs/save | syscalls/save |`);
    console.log('|---|---:|---:|---:|');
    console.log(`| cursor-<sink>.json per sink: tmp, fsync, rename, dir fsync | ${before.wallUs.toFixed(0)} | ${before.cpuUs.toFixed(0)} | ${8 * SINKS.length} |`);
    console.log(`| cursors.bin: pwrite of a slot, fdatasync | ${now.wallUs.toFixed(0)} | ${now.cpuUs.toFixed(0)} | 2 |`);
    return [
      { what: `spool cursor save, ${SINKS.length} sinks`, value: `${now.cpuUs.toFixed(0)} µs CPU, ${now.wallUs.toFixed(0)} µs wall (per-sink files: ${before.cpuUs.toFixed(0)}, ${before.wallUs.toFixed(0)})`, goal: '', met: null },
    ];
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
