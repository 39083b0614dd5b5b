/**
 * The layering holds, checked on every import in the repository: the MCU's code stays
 * the MCU's, the bridge has one front door, protocol/ and hardware/ stand alone, and
 * bridge/src has no import cycles. The checker itself is tried on a made-up tree first,
 * so a rule that silently stopped matching would fail here too.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { importCycles, importEdges, layeringViolations, readTree } from './import-graph';

const root = path.join(__dirname, '..', '..');

describe('architecture: imports', () => {
  it('the checker sees every kind of import and flags each rule on a made-up tree', () => {
    const tree = new Map<string, string>([
      ['bridge/src/index.ts', "export { a } from './a';\nexport * from './core/b';\n"],
      ['bridge/src/a.ts', "import { b } from './core/b';\nexport const a = b;\n"],
      ['bridge/src/core/b.ts', "import type { A } from '../a';\nexport const b = 1;\n"],
      ['bridge/src/loop/x.ts', "import { y } from './y';\nexport const x = 1;\n"],
      ['bridge/src/loop/y.ts', "const x = require('./x');\nexport const y = 2;\n"],
      ['bridge/src/bad.ts', "import { f } from '../../firmware/src/app';\n"],
      ['firmware/src/app.ts', 'export const f = 1;\n'],
      ['protocol/index.ts', "import { h } from '../hardware';\nimport '../drivers/ina219';\n"],
      ['hardware/index.ts', "export const h = 1;\nconst later = import('../protocol');\n"],
      ['drivers/ina219.ts', 'export {};\n'],
      ['simulator/sim.ts', "import { f } from '../firmware/src/app';\nimport { a } from '../bridge/src';\n"],
      ['scripts/start.ts', "import { a } from '../bridge/src';\nimport { b } from '../bridge/src/core/b';\n// import { c } from '../bridge/src/c';\n/* export * from '../bridge/src/c' */\n"],
      ['test/x.test.ts', "import type { A } from '../bridge/src/a';\nexport type { B } from '../bridge/src/core/b';\n"],
    ]);
    const edges = importEdges(tree);
    const v = layeringViolations(edges);
    const flagged = (file: string, spec: string): boolean => v.some((m) => m.startsWith(file + ':') && m.includes(` imports ${spec} `));
    assert.ok(flagged('bridge/src/bad.ts', '../../firmware/src/app'), 'bridge/src -> firmware/src');
    assert.ok(flagged('simulator/sim.ts', '../firmware/src/app'), 'simulator -> firmware/src');
    assert.ok(flagged('scripts/start.ts', '../bridge/src/core/b'), 'outside bridge/ -> a bridge internal');
    assert.ok(flagged('test/x.test.ts', '../bridge/src/a'), 'import type counts too');
    assert.ok(flagged('test/x.test.ts', '../bridge/src/core/b'), 'export ... from counts too');
    assert.ok(flagged('protocol/index.ts', '../drivers/ina219'), 'protocol -> not hardware');
    assert.ok(flagged('hardware/index.ts', '../protocol'), 'hardware -> anything (dynamic import)');
    assert.ok(!flagged('protocol/index.ts', '../hardware'), 'protocol -> hardware is allowed');
    assert.ok(!flagged('simulator/sim.ts', '../bridge/src'), 'the front door is allowed');
    assert.ok(!v.some((m) => m.includes(' imports ../bridge/src/c ')), 'commented-out imports are not imports');
    assert.equal(v.length, 7, v.join('\n'));
    assert.deepEqual(importCycles(edges, 'bridge/src'), [['bridge/src/loop/x.ts', 'bridge/src/loop/y.ts']], 'a require cycle is one; a type-only back edge is none');
  });

  const tree = readTree(root);
  const edges = importEdges(tree);

  it('reads the whole repository', () => {
    // A checker that found nothing would pass everything: make sure it saw the tree.
    assert.ok(tree.has('bridge/src/index.ts') && tree.has('scripts/start.ts') && tree.has('protocol/index.ts'));
    assert.ok(edges.length > 200, `only ${edges.length} imports found`);
    assert.ok(edges.some((e) => e.from === 'scripts/start.ts' && e.to === 'bridge/src/index.ts'), 'npm start goes through the front door');
  });

  it('no layering rule is broken', () => {
    const v = layeringViolations(edges);
    assert.deepEqual(v, [], `\n${v.join('\n')}`);
  });

  it('bridge/src has no import cycle', () => {
    const c = importCycles(edges, 'bridge/src');
    assert.deepEqual(c, [], `\n${c.map((x) => x.join(' <-> ')).join('\n')}`);
  });
});
