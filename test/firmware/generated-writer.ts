/**
 * The bundle's reading writer (the source scripts/build-firmware.ts generates from a field
 * table) loaded into Node, so tests can run it beside the table-walking writer it replaces.
 */
import * as acorn from 'acorn';
import { ReadingWriter, readingWriterSource } from '../../firmware/src/reading-writer';
import { formatFixed } from '../../firmware/src/mcu-codec';
import type { ReadingField } from '../../protocol';

export function generatedWriter(fields: readonly ReadingField[]): ReadingWriter {
  const source = readingWriterSource(fields);
  // As the build's checkBundle would: the generated module must be ECMAScript 5.
  acorn.parse(source, { ecmaVersion: 5, sourceType: 'module' });
  const imports = "import { formatFixed } from './mcu-codec';\n";
  if (!source.startsWith(imports)) throw new Error('generated writer does not start with its one import');
  const body = source.slice(imports.length).replace(/^export function /gm, 'function ') +
    '\nreturn { measurementsText: measurementsText, countersText: countersText };';
  return new Function('formatFixed', body)(formatFixed) as ReadingWriter;
}
