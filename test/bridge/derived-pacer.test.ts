/** The pacing of derived values on MQTT (pure: the test says what time it is). */
import assert from 'node:assert/strict';
import { DerivedPacer } from '../../bridge/src';

describe('derived value pacing', () => {
  it('sends a key\'s first value at once, then numbers at most once per interval with the newest winning', () => {
    const p = new DerivedPacer(10_000);
    assert.equal(p.dueInMs(0), null, 'nothing pending');
    p.set('soc', 50);
    assert.equal(p.dueInMs(0), 0, 'a first value is due at once');
    assert.deepEqual(p.take(0), [['soc', '50']]);
    for (let t = 1000; t < 10_000; t += 1000) {
      p.set('soc', 50 - t / 1000);
      assert.equal(p.dueInMs(t), 10_000 - t, `at ${t} ms the number waits for the interval`);
    }
    assert.equal(p.dueInMs(10_000), 0);
    assert.deepEqual(p.take(10_000), [['soc', '41']], 'only the newest of nine changes goes');
    assert.deepEqual([...p.published()], [['soc', '41']]);
  });

  it('sends a change of kind at once: yes/no and state values, unknown and back, and nothing for a value back where it was', () => {
    const p = new DerivedPacer(10_000);
    p.set('soc', 50);
    p.set('night', false);
    p.set('state', 'charging');
    p.take(0);
    p.set('soc', 49);
    assert.equal(p.dueInMs(1000), 9000);
    p.set('state', 'discharging');
    assert.equal(p.dueInMs(1000), 0, 'a state change goes at once');
    assert.deepEqual(p.take(1000), [['soc', '49'], ['state', 'discharging']], 'with the numbers pending');
    p.set('night', true);
    assert.equal(p.dueInMs(2000), 0, 'a yes/no change goes at once');
    p.take(2000);
    p.set('soc', null);
    assert.equal(p.dueInMs(3000), 0, 'a number becoming unknown goes at once');
    assert.deepEqual(p.take(3000), [['soc', 'None']]);
    p.set('soc', 48);
    assert.equal(p.dueInMs(4000), 0, 'and becoming known again');
    p.take(4000);
    p.set('soc', 47);
    p.set('soc', 48);
    assert.equal(p.dueInMs(5000), null, 'back to what was published: nothing to send');
  });

  it('with interval 0 every change is due at once', () => {
    const p = new DerivedPacer(0);
    p.set('soc', 1);
    p.take(0);
    p.set('soc', 2);
    assert.equal(p.dueInMs(1), 0);
  });
});
