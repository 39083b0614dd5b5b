import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { decodeLine, ReadingFrame } from '../../firmware/src/protocol';

const root = path.join(__dirname, '..', '..');

function start(args: string[]) {
  return spawnSync(process.execPath, ['scripts/ts-run.js', 'scripts/start.ts', ...args], {
    cwd: root, encoding: 'utf8', timeout: 20000,
  });
}

describe('npm start (foundation stage)', () => {
  it('says what it runs, then prints valid reading frames from the driver and the chip models', () => {
    const r = start(['--count', '3', '--interval-ms', '200']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /foundation stage/);
    assert.match(r.stdout, /Not built yet/);
    const frames = r.stdout.split('\n').filter((l) => l.startsWith('$R'))
      .map((l) => decodeLine(l)).map((d) => { assert.ok(d.ok, JSON.stringify(d)); return d.frame as ReadingFrame; });
    assert.deepEqual(frames.map((f) => f.seq), [1, 2, 3]);
    for (const f of frames) {
      // 200 ms > the 136 ms conversion (128-sample averages on both ADCs): every poll finds a fresh one.
      assert.ok(f.bv !== null && f.bv > 12.5 && f.bv < 13.3, `bv ${f.bv}`);
      assert.ok(f.la !== null && f.la > 1.7 && f.la < 3.1, `la ${f.la}`);
      assert.equal(f.why, 'boot');
    }
  });

  it('rejects a bad flag with a message that names it', () => {
    const r = start(['--count', 'zero']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--count needs a positive integer, got zero/);
    const u = start(['--bogus']);
    assert.equal(u.status, 2);
    assert.match(u.stderr, /unknown flag --bogus/);
  });
});
