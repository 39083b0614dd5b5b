/** The heap policy's full collection after a busy spell: the rule (pure, the test says the time) and its wiring to V8. */
import assert from 'node:assert/strict';
import { BusySpell, collectAfterBusySpells } from '../../bridge/src';

describe('heap policy: collecting after a busy spell', () => {
  it('never sees a spell in a trickle of one young collection every 20 s, nor in a lone cluster shorter than the count', () => {
    const s = new BusySpell(10_000, 8, 2);
    for (let t = 0; t < 3600_000; t += 20_000) assert.equal(s.minor(t), false, `trickle at ${t} ms`);
    for (let i = 0; i < 7; i++) assert.equal(s.minor(3600_000 + i * 100), false, 'seven quick ones are not a spell');
    assert.equal(s.check(), 'quiet');
    // Eight, but spread over more than the window.
    const t0 = 4000_000;
    for (let i = 0; i < 8; i++) assert.equal(s.minor(t0 + i * 1500), false, `spread ${i}`);
  });

  it('starts a spell at the eighth young collection within the window, stays busy while they keep coming, ends once, and can start again', () => {
    const s = new BusySpell(10_000, 8, 2);
    let t = 0;
    for (let i = 0; i < 7; i++) assert.equal(s.minor((t += 500)), false);
    assert.equal(s.minor((t += 500)), true, 'the eighth in 4 s starts the spell');
    assert.equal(s.minor((t += 500)), false, 'a spell starts once');
    for (let i = 0; i < 3; i++) s.minor((t += 500));
    assert.equal(s.check(), 'busy', 'four in the interval');
    s.minor((t += 500));
    assert.equal(s.check(), 'ended', 'one in the interval ends it');
    assert.equal(s.check(), 'quiet', 'and only once');
    t += 60_000;
    for (let i = 0; i < 7; i++) assert.equal(s.minor((t += 200)), false);
    assert.equal(s.minor((t += 200)), true, 'a later spell starts afresh');
  });

  it('runs the collection once, after the allocation stops, from young collections V8 really made', async () => {
    let collections = 0;
    let collectedAt = 0;
    // A spell ends only at an interval with no young collection at all: each loop turn below makes at least one.
    const stop = collectAfterBusySpells(undefined, { gc: () => { collections++; collectedAt = Date.now(); }, checkMs: 300, spell: new BusySpell(2000, 8, 1) });
    try {
      // Garbage for ~700 ms: the young generation (1 MB per semi-space under the heap policy) fills many times.
      const until = Date.now() + 700;
      let keep = 0;
      while (Date.now() < until) {
        const junk = new Array(20_000).fill(0).map((_, i) => ({ i, s: `x${i}` }));
        keep += junk.length;
        await new Promise<void>((r) => setImmediate(r)); // let the observer's entries in
      }
      assert.ok(keep > 0);
      assert.equal(collections, 0, 'nothing while busy');
      await new Promise<void>((r) => setTimeout(r, 1500));
      assert.equal(collections, 1, 'one collection once the spell is over');
      assert.ok(collectedAt >= until, 'after the allocation stopped');
      await new Promise<void>((r) => setTimeout(r, 700));
      assert.equal(collections, 1, 'and no more while quiet');
    } finally {
      stop();
    }
  });

  it('does nothing without gc() (a bridge inside another process)', () => {
    const before = (globalThis as { gc?: unknown }).gc;
    assert.equal(typeof before, 'undefined', 'the test process runs without --expose-gc');
    const stop = collectAfterBusySpells();
    stop();
  });
});
