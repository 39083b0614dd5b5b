/**
 * Builds reading frames for one field table, with the keys in one order for both
 * decoders: header (seq, boot, up), required measurements, status (chg, why, mode, flt),
 * required counters, then the optional values a frame carries. The same key order means
 * the same JSON from either decoder (the spool stores it), and it is the order earlier
 * versions gave.
 *
 * The builder is compiled from the table once (as ajv compiles its validators): V8
 * builds an object literal of fixed keys in one step, whereas adding table-named keys one
 * by one measured three times slower and made the fast decoder no faster than the
 * reference. Only keys that passed isKey ([a-z][a-z0-9_]*) reach the source.
 */
import type { ChargerReason, ForceMode } from './spec';
import type { ReadingField } from './fields';
import type { ReadingFrame, Value } from './frames';
import { isKey } from './scan';

/** A frame from the header, the status and one value per table row (undefined: absent). */
export type ReadingBuilder = (
  seq: number, boot: number, up: number, chg: 0 | 1, why: ChargerReason, mode: ForceMode, flt: number,
  values: readonly (Value | undefined)[],
) => ReadingFrame;

export function readingBuilder(fields: readonly ReadingField[]): ReadingBuilder {
  const slot = (f: ReadingField): string => {
    if (!isKey(f.key)) throw new Error('protocol: reading field key ' + JSON.stringify(f.key) + ' is not [a-z][a-z0-9_]*');
    return f.key + ': values[' + fields.indexOf(f) + ']';
  };
  const required = (block: string): string[] => fields.filter((f) => f.block === block && !f.optional).map(slot);
  const literal = ["type: 'R'", 'seq: seq', 'boot: boot', 'up: up'].concat(
    required('measurement'), ['chg: chg', 'why: why', 'mode: mode', 'flt: flt'], required('counter'));
  let source = "'use strict';\nvar r = { " + literal.join(', ') + ' };\n';
  fields.forEach((f, i) => {
    if (f.optional) source += 'if (values[' + i + '] !== undefined) r.' + f.key + ' = values[' + i + '];\n';
  });
  source += 'return r;';
  return new Function('seq', 'boot', 'up', 'chg', 'why', 'mode', 'flt', 'values', source) as ReadingBuilder;
}
