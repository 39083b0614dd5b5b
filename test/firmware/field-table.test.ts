/**
 * The reading's field table (protocol/fields.ts) is the one place a value is described:
 * a row added to it, here in the test only, is encoded, decoded, fast-decoded and
 * modelled for the bridge without any other module changing. Also: the table's own
 * rules, the MCU's bundle writer against the table-walking writer it is generated from,
 * and the order of the driver's flags that app.ts relies on for the fault bits.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  CHANNELS, FLT_BAT_COMM, FLT_BAT_OVF, FLT_BAT_RESET, FLT_BAT_STALE, FLT_LOAD_COMM, FLT_LOAD_OVF, FLT_LOAD_RESET, FLT_LOAD_STALE,
  READING_FIELDS, Reading, ReadingField, ReadingFrame, createCodec, crc32, decodeLine, fastReading,
} from '../../protocol';
import { quantitiesFromFields, quantitiesOf, QUANTITIES } from '../../bridge/src';
import { readingWriter, valueSource } from '../../firmware/src/reading-writer';
import { INA_FLAG_COMM, INA_FLAG_OVF, INA_FLAG_RESET, INA_FLAG_STALE, Ina219Reading } from '../../drivers/ina219';
import type { EnergyCounters } from '../../firmware/src/energy';
import { generatedWriter } from './generated-writer';
import { seededRandom } from '../../simulator/random';

/** A required measurement with its own decimals and a narrow range. */
const PEAK: ReadingField = {
  key: 'lpk', channel: 'load', name: 'peak_current', label: 'Load peak current', unit: 'A',
  decimals: 1, lo: -5, hi: 5, optional: false, block: 'measurement',
};
/** An optional counter. */
const SOLAR_IN: ReadingField = {
  key: 'sahi', channel: 'solar', name: 'charge_in', label: 'Solar charge in', unit: 'Ah',
  decimals: 2, lo: 0, hi: 1000, optional: true, block: 'counter',
};
const EXTENDED = [...READING_FIELDS, PEAK, SOLAR_IN];

type Values = { [key: string]: number | null | undefined };

function sampleReading(extra: Values): Reading {
  return {
    seq: 42, boot: 7, up: 3600.25, bv: 12.734, ba: -1.25, bw: -15.92, lv: 12.701, la: 1.78, lw: 22.61, sv: 0.412,
    chg: 1, why: 'sun_down', mode: 'auto', flt: 0,
    bahi: 10.5, baho: 12.25, bwhi: 140, bwho: 155.5, lahi: 0, laho: 18, lwhi: 0, lwho: 230.25,
    ...extra,
  } as Reading;
}

function seal(body: string): string {
  return '$' + body + '*' + crc32(body).toString(16).toUpperCase().padStart(8, '0');
}

describe('reading field table', () => {
  describe('the table', () => {
    it('has unique keys, sane formats and a known channel per row', () => {
      const keys = new Set<string>();
      for (const f of READING_FIELDS as readonly ReadingField[]) {
        assert.match(f.key, /^[a-z][a-z0-9_]*$/);
        assert.ok(!keys.has(f.key), `${f.key} twice`);
        keys.add(f.key);
        assert.ok(CHANNELS.includes(f.channel), f.key);
        assert.ok(Number.isInteger(f.decimals) && f.decimals >= 0 && f.decimals <= 6, f.key);
        assert.ok(f.lo < f.hi, f.key);
        if (f.block === 'counter') assert.equal(f.lo, 0, `${f.key}: counters only grow from zero`);
      }
    });

    it('is what the R table of PROTOCOL.md says: keys, decimals and ranges', () => {
      const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'protocol', 'PROTOCOL.md'), 'utf8');
      const section = doc.slice(doc.indexOf('## R — reading'), doc.indexOf('### Reasons'));
      const byKey = new Map((READING_FIELDS as readonly ReadingField[]).map((f) => [f.key, f]));
      const documented = new Set<string>();
      // "as battery": the battery's range for the same unit.
      const batteryRange = new Map<string, string>();
      for (const row of section.split('\n').filter((l) => l.startsWith('| `'))) {
        const cells = row.split('|').map((c) => c.trim());
        const keys = [...cells[1].matchAll(/`([a-z]+)`/g)].map((m) => m[1]);
        if (!keys.every((k) => byKey.has(k))) continue;
        // "3 / 4 / 2 decimals" or "4 decimals"; "0..40, −250..250, …", or "as battery".
        const decimals = cells[4].replace(' decimals', '').split('/').map((d) => Number(d.trim()));
        const ranges = cells[5].split(',').map((r) => r.trim().replace(/−/g, '-'));
        keys.forEach((k, i) => {
          const f = byKey.get(k) as ReadingField;
          documented.add(k);
          assert.equal(decimals.length === 1 ? decimals[0] : decimals[i], f.decimals, `${k} decimals`);
          let range = ranges.length === 1 ? ranges[0] : ranges[i];
          if (range === 'as battery') range = batteryRange.get(f.unit) ?? '';
          else if (f.channel === 'battery') batteryRange.set(f.unit, range);
          const [lo, hi] = range.split('..').map(Number);
          assert.deepEqual([lo, hi], [f.lo, f.hi], `${k} range`);
        });
      }
      assert.deepEqual([...documented].sort(), [...byKey.keys()].sort(), 'every row of the table is documented');
    });

    it('refuses a row whose key is a header key, repeated, or not a key', () => {
      const row = (key: string): ReadingField => ({ ...PEAK, key });
      for (const bad of ['seq', 'flt', 'bv', 'Lpk', '9x', 'a-b']) {
        assert.throws(() => createCodec([...READING_FIELDS, row(bad)]), /reading field/, bad);
      }
    });
  });

  describe('a row added to the table in this test only', () => {
    const codec = createCodec(EXTENDED);
    const quantities = quantitiesFromFields(EXTENDED);

    it('is encoded in its block, in its format', () => {
      const line = codec.encodeReading(sampleReading({ lpk: 1.26, sahi: 12.345 }));
      assert.match(line, /,lw=22\.61,sv=0\.412,lpk=1\.3,chg=1,/);
      assert.match(line, /,lwho=230\.250,sahi=12\.35\*[0-9A-F]{8}$/);
      // Out of its range it is sent as "no value"; the optional one is left out when absent.
      const clipped = codec.encodeReading(sampleReading({ lpk: 5.06 }));
      assert.match(clipped, /,lpk=-,chg=/);
      assert.doesNotMatch(clipped, /sahi/);
    });

    it('is decoded by the table\'s decoder and by its fast decoder, to the same frame', () => {
      for (const extra of [{ lpk: 1.26, sahi: 12.345 }, { lpk: -4.96 }, { lpk: null, sahi: null }, { lpk: 0, sahi: 1000 }]) {
        const line = codec.encodeReading(sampleReading(extra));
        const decoded = codec.decodeLine(line);
        assert.ok(decoded.ok, line);
        const frame = decoded.frame as ReadingFrame & Values;
        assert.equal(frame.lpk, extra.lpk === null ? null : Math.round(extra.lpk * 10) / 10 + 0);
        if ('sahi' in extra) assert.equal(frame.sahi, extra.sahi === null ? null : Math.round((extra.sahi as number) * 100) / 100);
        else assert.ok(!('sahi' in frame));
        assert.equal(frame.extra, undefined, 'no key is unknown to this table');
        const fast = codec.fastReading(line);
        assert.ok(fast, `fast path refused ${line}`);
        assert.equal(JSON.stringify(fast), JSON.stringify(frame));
      }
    });

    it('is checked against its range and required by both decoders', () => {
      const line = codec.encodeReading(sampleReading({ lpk: 1 }));
      const body = line.slice(1, line.lastIndexOf('*'));
      const outOfRange = seal(body.replace(',lpk=1.0,', ',lpk=5.1,'));
      const result = codec.decodeLine(outOfRange);
      assert.ok(!result.ok && result.reason === 'out_of_range' && /lpk/.test(result.detail), JSON.stringify(result));
      assert.equal(codec.fastReading(outOfRange), null);
      const missing = seal(body.replace(',lpk=1.0', ''));
      const gone = codec.decodeLine(missing);
      assert.ok(!gone.ok && gone.reason === 'missing_field' && /lpk/.test(gone.detail), JSON.stringify(gone));
      assert.equal(codec.fastReading(missing), null);
    });

    it('leaves the real codec as it was: there the new keys are kept as unknown', () => {
      const line = codec.encodeReading(sampleReading({ lpk: 1.26, sahi: 12.345 }));
      const decoded = decodeLine(line);
      assert.ok(decoded.ok);
      assert.deepEqual((decoded.frame as ReadingFrame).extra, { lpk: 1.3, sahi: 12.35 });
      assert.equal(fastReading(line), null, 'the real fast path leaves foreign keys to decodeLine');
    });

    it('agrees between the fast and the reference decoder on random values, in range or not', () => {
      const rnd = seededRandom(77);
      let fastCount = 0;
      for (let i = 0; i < 3000; i++) {
        const extra: Values = {};
        for (const f of EXTENDED) {
          const r = rnd();
          if (f.optional && r < 0.3) continue;
          extra[f.key] = r < 0.35 ? null : r < 0.45 ? f.hi + rnd() * 2 * Math.pow(10, -f.decimals) : f.lo + rnd() * (f.hi - f.lo);
        }
        const line = codec.encodeReading(sampleReading(extra));
        const decoded = codec.decodeLine(line);
        assert.ok(decoded.ok, line);
        const fast = codec.fastReading(line);
        assert.ok(fast, line);
        fastCount++;
        assert.equal(JSON.stringify(fast), JSON.stringify(decoded.frame), line);
      }
      assert.equal(fastCount, 3000);
    });

    it('is modelled for MQTT, Home Assistant and InfluxDB', () => {
      const peak = quantities.find((q) => (q.wire as string) === 'lpk');
      assert.deepEqual(peak, {
        wire: 'lpk', channel: 'load', name: 'peak_current', label: 'Load peak current', unit: 'A',
        deviceClass: 'current', stateClass: 'measurement', decimals: 1,
      });
      const solarIn = quantities.find((q) => (q.wire as string) === 'sahi');
      assert.deepEqual(solarIn, {
        wire: 'sahi', channel: 'solar', name: 'charge_in', label: 'Solar charge in', unit: 'Ah',
        stateClass: 'total_increasing', optional: true, decimals: 2,
      });
      // Grouped by channel: the load's new value after the load's other values.
      const loadNames = quantities.filter((q) => q.channel === 'load').map((q) => q.name);
      assert.deepEqual(loadNames.slice(-2), ['energy_out', 'peak_current']);
      const withSolar = codec.decodeLine(codec.encodeReading(sampleReading({ lpk: 1, sahi: 2 })));
      const without = codec.decodeLine(codec.encodeReading(sampleReading({ lpk: 1 })));
      assert.ok(withSolar.ok && without.ok);
      const carried = (f: unknown): string[] => quantitiesOf(f as Reading, quantities).map((q) => q.wire as string);
      assert.ok(carried(withSolar.frame).includes('sahi') && carried(withSolar.frame).includes('lpk'));
      assert.ok(!carried(without.frame).includes('sahi') && carried(without.frame).includes('lpk'));
      // The real model is the real table's.
      assert.deepEqual(QUANTITIES, quantitiesFromFields(READING_FIELDS));
    });

    it('stops the MCU writer until the firmware says where to read a required value', () => {
      assert.equal(valueSource(PEAK), null);
      assert.throws(() => readingWriter(EXTENDED), /no source on the MCU for required reading field lpk/);
      assert.throws(() => generatedWriter(EXTENDED), /lpk/);
      // An optional value the board does not measure is simply not sent.
      const optionalOnly = [...READING_FIELDS, SOLAR_IN];
      const energy = { bahi: 1, baho: 2, bwhi: 3, bwho: 4, lahi: 5, laho: 6, lwhi: 7, lwho: 8 } as EnergyCounters;
      assert.equal(readingWriter(optionalOnly).countersText(energy), readingWriter(READING_FIELDS).countersText(energy));
      assert.equal(generatedWriter(optionalOnly).countersText(energy), readingWriter(READING_FIELDS).countersText(energy));
    });
  });

  describe('the MCU writer', () => {
    it('generated for the bundle, writes what the table-walking writer writes, on 20,000 random inputs', () => {
      const rnd = seededRandom(4242);
      const walking = readingWriter(READING_FIELDS);
      const generated = generatedWriter(READING_FIELDS);
      const value = (): number | null => {
        const r = rnd();
        return r < 0.1 ? null : r < 0.15 ? [NaN, Infinity, -Infinity, 0, -0][Math.floor(rnd() * 5)] : (rnd() - 0.3) * Math.pow(10, Math.floor(rnd() * 11) - 1);
      };
      const sensor = (): Ina219Reading => ({ flags: 0, busV: value(), shuntV: null, currentA: value(), powerW: value(), error: null });
      for (let i = 0; i < 20000; i++) {
        const b = sensor();
        const l = sensor();
        const sv = value();
        assert.equal(generated.measurementsText(b, l, sv), walking.measurementsText(b, l, sv));
        const energy: { [k: string]: number } = {};
        for (const f of READING_FIELDS) if (f.block === 'counter') energy[f.key] = Math.abs(value() ?? 0);
        assert.equal(generated.countersText(energy as unknown as EnergyCounters), walking.countersText(energy as unknown as EnergyCounters));
      }
    });

    it('can map the driver\'s flags onto each sensor\'s fault bits by scaling (app.ts relies on it)', () => {
      const pairs: [number, number, number][] = [
        [INA_FLAG_COMM, FLT_BAT_COMM, FLT_LOAD_COMM], [INA_FLAG_OVF, FLT_BAT_OVF, FLT_LOAD_OVF],
        [INA_FLAG_RESET, FLT_BAT_RESET, FLT_LOAD_RESET], [INA_FLAG_STALE, FLT_BAT_STALE, FLT_LOAD_STALE],
      ];
      for (const [flag, battery, load] of pairs) {
        assert.equal(flag * FLT_BAT_COMM, battery);
        assert.equal(flag * FLT_LOAD_COMM, load);
      }
    });
  });
});
