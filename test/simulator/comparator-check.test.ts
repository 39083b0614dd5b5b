import assert from 'node:assert/strict';
import { CheckedRow, ComparatorCheck } from '../../simulator/comparator-check';
import { DEFAULT_THRESHOLDS } from '../../hardware';

const TH = { batteryOnV: 12, batteryOffV: 14, sunDownV: 10, sunUpV: 12, minDwellS: 0 };

function row(t: number, bv: number, sv: number, chg: 0 | 1, why = chg ? 'sun_down' : 'released', boot = 1): CheckedRow {
  return { t, boot, chg, why, trueBatteryV: bv, trueSolarV: sv, trueChargerOn: chg === 1 };
}

describe('comparator check (the reference the firmware is judged by)', () => {
  it('accepts the comparator behaviour: ON at night, OFF by day once the battery has been high, hysteresis held', () => {
    const c = new ComparatorCheck(TH);
    c.push(row(0, 14.3, 0, 1));
    c.push(row(1, 13.0, 0, 1));
    c.push(row(2, 13.0, 13, 0));
    c.push(row(3, 12.6, 11, 0));
    c.push(row(4, 12.6, 9, 1));
    c.push(row(5, 12.6, 11, 1));
    c.push(row(6, 12.6, 12.5, 0));
    assert.deepEqual(c.summary.violations, 0);
    assert.ok(c.summary.checked >= 6);
  });

  it('flags a charger OFF while the true battery is clearly low, and ON when both are clearly released', () => {
    const c = new ComparatorCheck(TH);
    c.push(row(0, 14.3, 15, 0));
    c.push(row(1, 11.5, 15, 0));
    c.push(row(2, 11.5, 15, 0));
    assert.equal(c.summary.violations, 1, 'one poll of latency is allowed, the second is not');
    assert.equal(c.summary.examples[0].kind, 'decision');
    const d = new ComparatorCheck(TH);
    d.push(row(0, 14.3, 15, 0));
    d.push(row(1, 14.3, 15, 1, 'bat_low'));
    assert.equal(d.summary.violations, 1);
  });

  it('does not judge decisions near a threshold (measurement error), only once the value is clearly past it', () => {
    const c = new ComparatorCheck(TH);
    c.push(row(0, 14.3, 15, 0));
    c.push(row(1, 12.05, 15, 1, 'bat_low'));
    c.push(row(2, 12.5, 15, 1, 'bat_low'));
    assert.equal(c.summary.violations, 0);
    assert.equal(c.summary.ambiguous, 2);
    c.push(row(3, 14.2, 15, 0));
    c.push(row(4, 13.0, 15, 1, 'bat_low'));
    assert.equal(c.summary.violations, 1, 'after 14.2 V the latch is surely released');
  });

  it('requires ON in fail-safe and boot, skips forced and dwell states, forgets the latches at a reboot', () => {
    const c = new ComparatorCheck(TH);
    c.push(row(0, 14.3, 15, 0));
    c.push(row(1, 14.3, 15, 0, 'failsafe'));
    assert.equal(c.summary.violations, 1);
    c.push(row(2, 11.0, 15, 0, 'forced_off'));
    assert.equal(c.summary.hostControlled, 1);
    c.push(row(3, 13.0, 15, 1, 'bat_low', 2));
    assert.equal(c.summary.violations, 1, 'a rebooted firmware may start with its latch set inside the band');
  });

  it('checks that REMOTE follows the frame', () => {
    const c = new ComparatorCheck(TH);
    c.push({ ...row(0, 14.3, 15, 0), trueChargerOn: true });
    assert.equal(c.summary.examples[0].kind, 'remote');
  });

  it('uses the same threshold shape as hardware/', () => {
    assert.deepEqual(Object.keys(DEFAULT_THRESHOLDS).sort(), Object.keys(TH).sort());
  });
});
