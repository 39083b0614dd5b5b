/**
 * The MCU's reading values as text, `,bv=12.900,…,sv=18.200` and `,bahi=…,lwho=…`, in the
 * order and format of the protocol's field table (protocol/fields.ts). What the MCU adds
 * to the table is where each value comes from on this board (valueSource).
 *
 * The table does not fit in the 12 KB bundle, so this module exists twice: here as code
 * that walks the table (Node: tests, and the reference), and in the bundle as straight-line
 * code that scripts/build-firmware.ts generates from the same table with readingWriterSource
 * below. A test holds the two to the same output.
 */
import { READING_FIELDS } from '../../protocol/fields';
import type { ReadingField } from '../../protocol/fields';
import type { Ina219Reading } from '../../drivers/ina219';
import type { EnergyCounters } from './energy';
import { ENERGY_KEYS } from './energy';
import { formatFixed } from './mcu-codec';

/** The writer's parameters, by name: the generated code uses the same names. */
export interface ReadingSources {
  battery: Ina219Reading;
  load: Ina219Reading;
  solarV: number | null;
  energy: EnergyCounters;
}

/** Which Ina219Reading property holds a channel's value of each name. */
const SENSOR_PROPERTY: { [name: string]: keyof Ina219Reading } = { voltage: 'busV', current: 'currentA', power: 'powerW' };

/**
 * Where the MCU reads a field: [parameter] or [parameter, property] of ReadingSources, or
 * null when this board does not measure it (solar A and W need a third INA219 it lacks).
 */
export function valueSource(f: ReadingField): string[] | null {
  // energy.ts keeps each counter under its wire key.
  if (f.block === 'counter') return ENERGY_KEYS.indexOf(f.key) >= 0 ? ['energy', f.key] : null;
  if (f.channel === 'solar') return f.name === 'voltage' ? ['solarV'] : null;
  const property = SENSOR_PROPERTY[f.name];
  return property ? [f.channel, property] : null;
}

/** The fields this board sends, in table order, with their sources; throws if a required one has none. */
function sentFields(fields: readonly ReadingField[]): { field: ReadingField; source: string[] }[] {
  const out: { field: ReadingField; source: string[] }[] = [];
  for (let i = 0; i < fields.length; i++) {
    const source = valueSource(fields[i]);
    if (source) out.push({ field: fields[i], source: source });
    else if (!fields[i].optional) throw new Error('firmware: no source on the MCU for required reading field ' + fields[i].key);
  }
  return out;
}

export interface ReadingWriter {
  /** The measurement block, each value as `,key=text` (between `up` and `chg`). */
  measurementsText(battery: Ina219Reading, load: Ina219Reading, solarV: number | null): string;
  /** The counter block (after `flt`). */
  countersText(energy: EnergyCounters): string;
}

/** The table-walking writer (Node); the bundle has readingWriterSource(fields) instead. */
export function readingWriter(fields: readonly ReadingField[]): ReadingWriter {
  const sent = sentFields(fields);
  const blockText = (block: string, sources: ReadingSources): string => {
    let s = '';
    for (let i = 0; i < sent.length; i++) {
      const f = sent[i].field;
      if (f.block !== block) continue;
      const path = sent[i].source;
      const root = (sources as unknown as { [name: string]: unknown })[path[0]];
      const v = path.length > 1 ? (root as { [property: string]: number | null })[path[1]] : root as number | null;
      s += ',' + f.key + '=' + formatFixed(v, f.decimals, f.lo, f.hi);
    }
    return s;
  };
  return {
    measurementsText: (battery, load, solarV) =>
      blockText('measurement', { battery: battery, load: load, solarV: solarV, energy: null as unknown as EnergyCounters }),
    countersText: (energy) =>
      blockText('counter', { battery: null as unknown as Ina219Reading, load: null as unknown as Ina219Reading, solarV: null, energy: energy }),
  };
}

/**
 * The bundle's version of this module as ES5 module source: the same two functions. Each
 * value is one concatenation, except runs of values read by key from one object with one
 * range (the energy counters), which become a loop over their keys: the unrolled form
 * measured 70 bytes longer, and the bundle has no bytes to spare.
 */
export function readingWriterSource(fields: readonly ReadingField[]): string {
  const sent = sentFields(fields);
  let prelude = "import { formatFixed } from './mcu-codec';\n";
  let runs = 0;
  const block = (name: string, params: string, kind: string): string => {
    const inBlock = sent.filter((x) => x.field.block === kind);
    // Loops and concatenations of single values, in field order.
    const statements: string[] = [];
    let singles: string[] = [];
    const endSingles = (): void => {
      if (singles.length) statements.push('s += ' + singles.join(' +\n    ') + ';');
      singles = [];
    };
    for (let i = 0; i < inBlock.length;) {
      const first = inBlock[i];
      let end = i + 1;
      const byKey = (x: { field: ReadingField; source: string[] }): boolean =>
        x.source.length === 2 && x.source[1] === x.field.key && x.source[0] === first.source[0] &&
        x.field.lo === first.field.lo && x.field.hi === first.field.hi && x.field.decimals < 10;
      if (byKey(first)) while (end < inBlock.length && byKey(inBlock[end])) end++;
      if (end - i >= 3) {
        const run = inBlock.slice(i, end);
        endSingles();
        const keys = 'keys' + runs++;
        prelude += 'var ' + keys + " = '" + run.map((x) => x.field.key).join(' ') + "'.split(' ');\n";
        statements.push('for (var i = 0; i < ' + run.length + '; i++) s += \',\' + ' + keys + '[i] + \'=\' + formatFixed(' +
          first.source[0] + '[' + keys + "[i]], +'" + run.map((x) => x.field.decimals).join('') + "'[i], " + first.field.lo + ', ' + first.field.hi + ');');
      } else {
        end = i + 1;
        singles.push("'," + first.field.key + "=' + formatFixed(" + first.source.join('.') + ', ' + first.field.decimals + ', ' +
          first.field.lo + ', ' + first.field.hi + ')');
      }
      i = end;
    }
    if (statements.length === 0) {
      // Only single values: one expression.
      const expression = singles.length ? singles.join(' +\n    ') : "''";
      return 'export function ' + name + '(' + params + ') {\n  return ' + expression + ';\n}\n';
    }
    endSingles();
    return 'export function ' + name + '(' + params + ') {\n  var s = \'\';\n  ' + statements.join('\n  ') + '\n  return s;\n}\n';
  };
  const functions = block('measurementsText', 'battery, load, solarV', 'measurement') + block('countersText', 'energy', 'counter');
  return prelude + functions;
}

const realWriter = readingWriter(READING_FIELDS);
export const measurementsText = realWriter.measurementsText;
export const countersText = realWriter.countersText;
