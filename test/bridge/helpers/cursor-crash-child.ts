/**
 * Run as a child process by the cursor tests, to be SIGKILLed between data and cursor:
 * appends FIRST records, acks them all for sink "a" and waits until cursors.bin holds that
 * (prints "saved N"); then appends SECOND records and acks them too (a save is not due
 * for seconds, so only memory knows), appends THIRD more without acking, flushes, prints
 * "written", and waits to be killed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CURSOR_FILE, Spool, SpoolPosition, decodeCursorFile } from '../../../bridge/src';

const [dir, first, second, third] = process.argv.slice(2);
const spool = Spool.open({ dir, maxBytes: 1024 * 1024 * 1024, segmentBytes: 64 * 1024, fsyncIntervalMs: 20, sinks: ['a'] });

function appendAndAck(from: number, count: number, ack: boolean): SpoolPosition {
  for (let i = from; i < from + count; i++) spool.append(`${i} record`);
  spool.flush();
  let pos = spool.ackedPosition('a');
  for (let batches = 0; batches < 10000; batches++) {
    const b = spool.read(pos, 500, 1 << 20);
    if (b.payloads.length === 0) break;
    pos = b.next;
  }
  if (ack) spool.ack('a', pos);
  return pos;
}

function savedIndex(): number {
  try {
    return decodeCursorFile(fs.readFileSync(path.join(dir, CURSOR_FILE))).newest?.positions.get('a')?.index ?? -1;
  } catch {
    return -1;
  }
}

const acked = appendAndAck(1, Number(first), true);
const poll = setInterval(() => {
  if (savedIndex() !== acked.index) return;
  clearInterval(poll);
  process.stdout.write(`saved ${acked.index}\n`);
  appendAndAck(1 + Number(first), Number(second), true);
  appendAndAck(1 + Number(first) + Number(second), Number(third), false);
  process.stdout.write('written\n');
}, 10);
setInterval(() => undefined, 1000);
