import assert from 'node:assert/strict';
import { COMPARATOR_BOARD } from '../../hardware';
import { channelNetlist, spiceNumber } from '../../schematics/netlists';
import {
  SETUP_HINT, crossings, ngspiceVersion, parseWrdata, remoteLevel, runNgspice, tripPoints,
} from '../../schematics/run-ngspice';

describe('schematics: ngspice runner', () => {
  it('finds ngspice (Debian package; `npm run setup` installs it)', async () => {
    const v = await ngspiceVersion();
    assert.match(v, /^ngspice-\d+$/);
    assert.ok(Number(v.slice('ngspice-'.length)) >= 36, `${v} is older than the B-source functions we use`);
  });

  it('fails with the setup hint, not a skip, when ngspice is missing', async () => {
    const net = channelNetlist(COMPARATOR_BOARD, 'battery');
    await assert.rejects(runNgspice(net, { binary: '/nonexistent/ngspice' }), (err: Error) => {
      assert.ok(err.message.includes(SETUP_HINT), err.message);
      assert.match(err.message, /npm run setup/);
      return true;
    });
    await assert.rejects(ngspiceVersion({ binary: '/nonexistent/ngspice' }), /npm run setup/);
  });

  it('reports a netlist error with ngspice\'s own log', async () => {
    const broken = { name: 'broken', text: '* broken\nQ1 a b 0 nosuchmodel\nV1 a 0 1\nR1 b 0 1k\n.control\nop\nquit 0\n.endc\n.end\n', dataFiles: ['x.data'] };
    await assert.rejects(runNgspice(broken), /nosuchmodel/);
  });

  it('parses wrdata columns by vector name', () => {
    const cols = parseWrdata(' time            v(a)            v(b)\n 0.0e+00  1.5e+00  -2e-3 \n 1.0e-06  2.5e+00  4e-3\n');
    assert.deepEqual(Object.keys(cols), ['time', 'v(a)', 'v(b)']);
    assert.deepEqual(cols['v(a)'], [1.5, 2.5]);
    assert.deepEqual(cols['v(b)'], [-0.002, 0.004]);
    assert.throws(() => parseWrdata(' time v(a)\n 0 1 2\n'), /3 values, header has 2/);
  });

  it('interpolates crossings and sorts them into rising and falling trips', () => {
    const x = [10, 11, 12, 13, 14, 15, 14, 13, 12, 11, 10];
    const y = [0, 0, 0, 0, 0, 5, 5, 5, 0, 0, 0];
    const c = crossings(x, y, 2.5);
    assert.equal(c.length, 2);
    assert.equal(c[0].direction, 'up');
    assert.equal(c[0].x, 14.5);
    assert.equal(c[1].direction, 'down');
    assert.equal(c[1].x, 12.5);
    assert.deepEqual(tripPoints(x, y, 5), { rising: [14.5], falling: [12.5] });
  });

  it('reads REMOTE levels with the HEP-600 thresholds from hardware/', () => {
    assert.equal(remoteLevel(0.3), 'charger ON');
    assert.equal(remoteLevel(4.7), 'charger OFF');
    assert.equal(remoteLevel(2.5), 'undefined');
  });

  it('writes SPICE numbers ngspice reads back exactly (Meg, never M)', () => {
    assert.equal(spiceNumber(82000), '82k');
    assert.equal(spiceNumber(1e6), '1Meg');
    assert.equal(spiceNumber(4700), '4.7k');
    assert.equal(spiceNumber(1431.30656), '1.431307k');
    assert.equal(spiceNumber(20e-6), '20u');
    assert.equal(spiceNumber(0), '0');
  });
});
