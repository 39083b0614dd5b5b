/**
 * Run as a child process by the spool tests: opens the spool, appends COUNT records,
 * flushes, prints "written", then waits to be SIGKILLed.
 */
import { Spool } from '../../../bridge/src';

const [dir, count, segmentBytes] = process.argv.slice(2);
const spool = Spool.open({ dir, maxBytes: 1024 * 1024 * 1024, segmentBytes: Number(segmentBytes), fsyncIntervalMs: 60000, sinks: ['a'] });
for (let i = 1; i <= Number(count); i++) {
  spool.append(`${1000 + i} record-${i}`);
  if (i % 100 === 0) spool.flush();
}
spool.flush();
process.stdout.write('written\n');
setInterval(() => undefined, 1000);
