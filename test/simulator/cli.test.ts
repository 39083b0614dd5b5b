import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, UsageError } from '../../simulator/cli';
import { scenarioNames } from '../../simulator/scenarios';
import { firmwareBundlePath } from './bundle';

const root = path.join(__dirname, '..', '..');

function sim(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'ts-run.js'), path.join(root, 'scripts', 'sim.ts'), ...args], {
    cwd: root, encoding: 'utf8', timeout: 90000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('npm run sim (CLI)', function () {
  this.timeout(120000);

  it('--help lists every scenario and flag', () => {
    const r = sim(['--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^usage: npm run sim -- \[--scenario NAME\] \[--hours H\] \[--seed S\] \[--out DIR\]/);
    for (const name of scenarioNames()) assert.ok(r.stdout.includes(`    ${name} `), name);
    for (const flag of ['--serve', '--speed', 'tcp:PORT', 'pty:PATH', '--firmware']) assert.ok(r.stdout.includes(flag), flag);
    for (const required of ['day', 'week', 'cloudy', 'mains-outage', 'sensor-fault', 'low-battery']) assert.ok(scenarioNames().includes(required));
  });

  it('simulator/README.md lists every scenario', () => {
    const readme = fs.readFileSync(path.join(root, 'simulator', 'README.md'), 'utf8');
    for (const name of scenarioNames()) assert.ok(readme.includes(`| \`${name}\` |`), name);
  });

  it('refuses bad arguments with a message that names them', () => {
    const bad: Array<[string[], RegExp]> = [
      [['--scenario', 'nope'], /unknown scenario "nope"/],
      [['--hours', '-1'], /--hours needs a number ≥ 0/],
      [['--hours', '0'], /--hours must be above 0/],
      [['--seed', '1.5'], /--seed needs an integer/],
      [['--speed'], /--speed needs a value/],
      [['--serve', 'udp:7'], /expected tcp:PORT/],
      [['--bogus'], /unknown argument --bogus/],
    ];
    for (const [args, message] of bad) assert.throws(() => parseArgs(args), (e: unknown) => e instanceof UsageError && message.test(e.message), args.join(' '));
    assert.deepEqual(parseArgs(['--scenario', 'week', '--hours', '2', '--seed', '9', '--serve', 'tcp:7000', '--speed', '50']), {
      scenario: 'week', hours: 2, seed: 9, quiet: false, serve: { kind: 'tcp', host: '127.0.0.1', port: 7000 }, speed: 50,
    });
    const r = sim(['--bogus']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown argument --bogus \(try --help\)/);
  });

  it('runs a scenario into --out: readings.csv, run.json, chart.svg and one summary line', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-cli-'));
    const r = sim(['--scenario', 'week', '--hours', '0.25', '--seed', '9', '--out', out, '--firmware', firmwareBundlePath()]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 1);
    assert.match(lines[0], /^sim week seed=9: 0\.25 h simulated in [\d.]+ s \(\d+× real time\); 900 readings, \d+ frames, 0 other lines; 0 MCU resets; .*comparator check 0 violations in \d+ polls; wrote /);
    assert.ok(!r.stderr.includes('\r'), 'no progress bar when stderr is not a terminal');
    for (const f of ['readings.csv', 'run.json', 'chart.svg']) assert.ok(fs.statSync(path.join(out, f)).size > 0, f);
    const run = JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8'));
    assert.equal(run.scenario, 'week');
    assert.equal(run.seed, 9);
    assert.equal(run.hours, 0.25);
    assert.equal(run.readings, 900);
    assert.ok(run.framesEmitted >= 900);
    assert.equal(typeof run.thresholds.batteryOnV, 'number');
    assert.equal(run.firmwareBundle, path.resolve(firmwareBundlePath()));
    assert.equal(fs.readFileSync(path.join(out, 'readings.csv'), 'utf8').trimEnd().split('\n').length, 901);
  });

  it('--serve tcp:0 says where the port is and finishes a paced run', () => {
    const r = sim(['--hours', '0.01', '--serve', 'tcp:0', '--speed', '100', '--firmware', firmwareBundlePath(), '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /serial port of the simulated MCU at tcp:\/\/127\.0\.0\.1:\d+ \(100× real time\)/);
    assert.match(r.stdout, /36 readings/);
  });
});
