/**
 * Decoder throughput: reading frames through LineSplitter + decodeLine (the reference
 * decoder) and through LineSplitter + fastReading (the bridge's one-pass path), against
 * Node's native JSON.parse of the same readings as JSON lines, measured in the same run
 * (this machine is noisy; the ratio is what to compare between runs). The bridge's bar
 * is 20,000 frames/s end to end, so the decoder must be far above that.
 */
import { LineSplitter, MAX_LINE_LENGTH, Reading, decodeLine, encodeReading, fastReading } from '../../protocol';
import type { BenchRow } from './bench-row';

const N = 50000;

function reading(i: number): Reading {
  return {
    seq: i, boot: 3, up: i * 1.0, bv: 12.5 + (i % 100) / 1000, ba: (i % 5000) / 100 - 25, bw: -15.5,
    lv: 12.4, la: 1.78, lw: 22.1, sv: 18.2, sa: null, sw: null, chg: 1, why: 'sun_down', mode: 'auto', flt: 0,
    bahi: 10.5, baho: 12.25, bwhi: 140, bwho: 155.5, lahi: 0, laho: 18, lwhi: 0, lwho: 230.25,
  } as Reading;
}

function timeIt(fn: () => number): { ms: number; count: number } {
  const t0 = process.hrtime.bigint();
  const count = fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, count };
}

export async function run(): Promise<BenchRow[]> {
  const frames: string[] = [];
  const json: string[] = [];
  for (let i = 1; i <= N; i++) {
    frames.push(encodeReading(reading(i)));
    json.push(JSON.stringify(reading(i)));
  }
  const frameStream = frames.join('\n') + '\n';
  const jsonStream = json.join('\n') + '\n';
  const ours = () => timeIt(() => {
    let ok = 0;
    const s = new LineSplitter(MAX_LINE_LENGTH, (l) => { if (decodeLine(l).ok) ok++; });
    for (let i = 0; i < frameStream.length; i += 4096) s.push(frameStream.slice(i, i + 4096));
    return ok;
  });
  const fast = () => timeIt(() => {
    let ok = 0;
    const s = new LineSplitter(MAX_LINE_LENGTH, (l) => { if (fastReading(l) !== null) ok++; });
    for (let i = 0; i < frameStream.length; i += 4096) s.push(frameStream.slice(i, i + 4096));
    return ok;
  });
  const reference = () => timeIt(() => {
    let ok = 0;
    let tail = '';
    for (let i = 0; i < jsonStream.length; i += 4096) {
      const parts = (tail + jsonStream.slice(i, i + 4096)).split('\n');
      tail = parts.pop() ?? '';
      for (const p of parts) if (JSON.parse(p).seq > 0) ok++;
    }
    return ok;
  });
  ours(); fast(); reference(); // warm up the JIT on all three
  const a = ours();
  const f = fast();
  const b = reference();
  if (a.count !== N || f.count !== N || b.count !== N) throw new Error(`decoded ${a.count} / ${f.count} / ${b.count} of ${N}`);
  const oursRate = N / (a.ms / 1000);
  const fastRate = N / (f.ms / 1000);
  const refRate = N / (b.ms / 1000);
  console.log('| what | frames/s | ratio to JSON.parse |');
  console.log('|---|---:|---:|');
  console.log(`| LineSplitter + decodeLine (CRC, every field validated) | ${Math.round(oursRate)} | ${(oursRate / refRate).toFixed(2)} |`);
  console.log(`| LineSplitter + fastReading (the bridge's path for the firmware's own lines) | ${Math.round(fastRate)} | ${(fastRate / refRate).toFixed(2)} |`);
  console.log(`| reference: split + JSON.parse of the same readings | ${Math.round(refRate)} | 1.00 |`);
  console.log(`goal: ≥ 20,000 frames/s for the whole bridge → decoder ${oursRate >= 20000 ? 'meets it' : 'MISSES it'} alone`);
  return [{
    what: 'protocol decoder alone (LineSplitter + decodeLine)',
    value: `${Math.round(oursRate).toLocaleString('en-US')} frames/s (${(oursRate / refRate).toFixed(2)}× JSON.parse)`,
    goal: '≥ 20,000 frames/s (the bridge\'s bar, for the decoder alone)',
    met: oursRate >= 20000,
  }, {
    what: 'fast reading decoder alone (LineSplitter + fastReading)',
    value: `${Math.round(fastRate).toLocaleString('en-US')} frames/s (${(fastRate / refRate).toFixed(2)}× JSON.parse)`,
    goal: '≥ 20,000 frames/s',
    met: fastRate >= 20000,
  }];
}
