/**
 * `npm start` as a newcomer meets it: typed into a real terminal (a tmux pane), no
 * flags. The test reads the status off the screen, subscribes with mosquitto_sub using
 * the command line the screen prints, sees readings, presses Ctrl-C and checks that the
 * whole thing stops cleanly: exit status 0, every emitted reading received by the bridge,
 * nothing left pending in the spool, its temporary directory removed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ensureFirmwareBundle } from '../helpers/firmware-bundle';
import { makeTempDir, removeDir, waitFor } from '../helpers/services';
import { TmuxPane } from '../helpers/tmux';

const root = path.join(__dirname, '..', '..');

function runShell(command: string, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm start in a terminal', function () {
  this.timeout(120000);
  let dir: string;
  let pane: TmuxPane | null = null;

  before(() => {
    ensureFirmwareBundle();
    dir = makeTempDir('npm-start');
  });
  after(() => {
    pane?.kill();
    removeDir(dir);
  });

  it('shows live status, serves readings to mosquitto_sub at the printed URL, and stops cleanly on Ctrl-C', async () => {
    const exitFile = path.join(dir, 'exit-status');
    // bash reports npm's exit status; a program killed by the signal would leave no file.
    pane = TmuxPane.start(`bash -c 'npm start; echo "exit=$?" > ${exitFile}'`, root);
    const p = pane;
    const screen = (): string => p.screen();
    const fail = (): string => `screen:\n${screen()}`;

    await waitFor(() => /^\s*watch it\s+mosquitto_sub .+$/m.test(screen()), { timeoutMs: 60000, what: 'npm start to print how to subscribe', detail: fail });
    const s0 = screen();
    const brokerUrl = /^\s*MQTT broker\s+(mqtt:\/\/127\.0\.0\.1:\d+) \(embedded\)$/m.exec(s0);
    assert.ok(brokerUrl, `the embedded broker's URL is printed\n${s0}`);
    const watch = /^\s*watch it\s+(mosquitto_sub .+)$/m.exec(s0)![1];
    assert.ok(watch.includes(`-p ${new URL(brokerUrl[1]).port}`), `the mosquitto_sub line uses the broker's port: ${watch}`);

    // The printed command, as a person would paste it, bounded to 120 messages or 20 s
    // (the retained topics, among them the battery's derived values, come first).
    const sub = await runShell(`${watch} -C 120 -W 20`, 30000);
    const states = sub.stdout.split('\n').filter((l) => l.startsWith('solar/solar-cluster/state '))
      .map((l) => JSON.parse(l.slice('solar/solar-cluster/state '.length)) as { seq: number; battery: { voltage: number }; charger: { state: string } });
    assert.ok(states.length >= 2, `at least two readings on the state topic; got:\n${sub.stdout.slice(0, 2000)}\n${sub.stderr}`);
    for (const st of states) {
      assert.ok(st.battery.voltage > 10 && st.battery.voltage < 15.5, `battery voltage ${st.battery.voltage}`);
      assert.match(st.charger.state, /^(ON|OFF)$/);
    }
    assert.ok(states[states.length - 1].seq > states[0].seq, 'readings keep coming');
    assert.ok(sub.stdout.includes('solar/solar-cluster/readings '), 'every reading is on the readings topic too');

    // The status block, redrawn in place: wait for a frame count that has moved on.
    const framesOnScreen = (): number => {
      const all = [...screen().matchAll(/^bridge\s+source up, (\d+) frames/gm)];
      return all.length === 0 ? 0 : Number(all[all.length - 1][1]);
    };
    await waitFor(() => framesOnScreen() >= 5, { timeoutMs: 20000, what: 'the status to count 5 frames', detail: fail });
    const status = screen();
    assert.match(status, /^battery\s+1\d\.\d{3} V\s+-?\d+\.\d{2} A/m, 'battery voltage and current');
    assert.match(status, /^load\s+1\d\.\d{3} V\s+\d+\.\d{2} A/m, 'load');
    assert.match(status, /^solar\s+\d+\.\d{3} V/m, 'solar voltage');
    assert.match(status, /^charger\s+(ON|OFF)\s+— \S/m, 'charger state and its reason');
    assert.match(status, /^today\s+battery in \d+\.\d Wh, out \d+\.\d Wh; load \d+\.\d Wh/m, 'energy today');
    assert.match(status, /^sinks\s+mqtt ok \(\d+ pending\)/m, 'sink health');
    // The battery estimator's line, from its derived values over MQTT.
    await waitFor(() => /^battery \d+ %( ± \d+)? \(\d+ Ah\) · (charging|idle|discharging|\d+ (h|min|d) )/m.test(screen()), { timeoutMs: 20000, what: 'the battery state line', detail: fail });
    const logDir = path.dirname(/^\s*bridge log\s+(\S+)$/m.exec(status)![1]);
    assert.ok(fs.existsSync(logDir), 'its temporary directory exists while it runs');

    p.sendKeys('C-c');
    await waitFor(() => fs.existsSync(exitFile), { timeoutMs: 20000, what: 'npm start to exit after Ctrl-C', detail: fail });
    const end = screen();
    assert.equal(fs.readFileSync(exitFile, 'utf8').trim(), 'exit=0', `exit status\n${end}`);
    const stopped = /stopped cleanly: (\d+) readings emitted, (\d+) received by the bridge; spool flushed \(0 pending for mqtt\)/.exec(end);
    assert.ok(stopped, `a clean stop with nothing pending\n${end}`);
    assert.equal(stopped[2], stopped[1], 'the bridge received every reading the firmware emitted');
    assert.ok(!fs.existsSync(logDir), 'the temporary spool directory is removed after a clean stop');
  });
});

/**
 * `npm start` whose output goes away while it runs: read by `head -5`, or by `tee` killed
 * with it by Ctrl-C. Each run gets its own TMPDIR, so "its temporary directory was
 * removed" is "no solar-start-* left in that TMPDIR".
 */
describe('npm start when its output goes away', function () {
  this.timeout(150000);
  let dir: string;
  let pane: TmuxPane | null = null;
  before(() => {
    ensureFirmwareBundle();
    dir = makeTempDir('npm-start-pipe');
  });
  after(() => {
    pane?.kill();
    removeDir(dir);
  });

  const runDirsIn = (tmp: string): string[] => fs.readdirSync(tmp).filter((n) => n.startsWith('solar-start-'));
  /** The clean-stop evidence on stderr, and no sign of a crash. */
  const assertCleanStopOnStderr = (stderr: string): void => {
    assert.match(stderr, /^stopped cleanly: \d+ readings emitted, \d+ received by the bridge; spool flushed/m, stderr);
    assert.doesNotMatch(stderr, /EPIPE.*\n\s+at |Unhandled 'error' event|^\s+at .+:\d+:\d+\)?$/m, `no stack trace:\n${stderr}`);
    assert.doesNotMatch(stderr, /npm (error|ERR!)/, `npm saw no failure:\n${stderr}`);
  };

  it('npm start | head -5: ends by itself, exit 0, the summary on stderr, no EPIPE trace, its temporary directory removed', async () => {
    const tmp = path.join(dir, 'head-tmp');
    fs.mkdirSync(tmp);
    const errFile = path.join(dir, 'head-stderr');
    // bash's PIPESTATUS is npm's own exit status, not head's.
    const r = await runShell(`cd ${root} && TMPDIR=${tmp} bash -c 'npm start 2>${errFile} | head -5; echo "npm=\${PIPESTATUS[0]}"'`, 120000);
    const stderr = fs.readFileSync(errFile, 'utf8');
    const lines = r.stdout.split('\n');
    assert.equal(lines.length, 7, `head's five lines, then npm's status:\n${r.stdout}\n${stderr}`);
    assert.equal(lines[5], 'npm=0', `npm start ended by itself with status 0 (a kill after 120 s would be null):\n${r.stdout}\n${stderr}`);
    assert.match(stderr, /npm start: its output was closed \(EPIPE\); stopping…/);
    assertCleanStopOnStderr(stderr);
    // The directory is kept on purpose when the bridge logged a warning: say which, so a
    // failure under load explains itself.
    const kept = runDirsIn(tmp).map((d) => path.join(tmp, d, 'bridge.log')).filter((f) => fs.existsSync(f));
    const warned = kept.map((f) => fs.readFileSync(f, 'utf8').split('\n').filter((l) => /warn|error/i.test(l)).slice(0, 20).join('\n')).join('\n');
    assert.deepEqual(runDirsIn(tmp), [], `the temporary spool directory is removed\n${stderr}\n${warned}`);
  });

  it('npm start | tee, then Ctrl-C in a terminal: tee dies with it, npm start still stops cleanly, exit 0, directory removed', async () => {
    const tmp = path.join(dir, 'tee-tmp');
    fs.mkdirSync(tmp);
    const errFile = path.join(dir, 'tee-stderr');
    const outFile = path.join(dir, 'tee-stdout');
    const exitFile = path.join(dir, 'tee-exit');
    pane = TmuxPane.start(`bash -c 'TMPDIR=${tmp} npm start 2>${errFile} | tee ${outFile}; echo "npm=\${PIPESTATUS[0]}" > ${exitFile}'`, root);
    const p = pane;
    await waitFor(() => fs.existsSync(outFile) && /^\s*bridge log\s+\S+$/m.test(fs.readFileSync(outFile, 'utf8')), { timeoutMs: 90000, what: 'npm start to print its banner through tee', detail: () => p.screen() });
    assert.equal(runDirsIn(tmp).length, 1, 'its temporary directory exists while it runs');
    p.sendKeys('C-c');
    await waitFor(() => fs.existsSync(exitFile), { timeoutMs: 30000, what: 'npm start to exit after Ctrl-C', detail: () => `${p.screen()}\n${fs.readFileSync(errFile, 'utf8')}` });
    const stderr = fs.readFileSync(errFile, 'utf8');
    assert.equal(fs.readFileSync(exitFile, 'utf8').trim(), 'npm=0', stderr);
    assertCleanStopOnStderr(stderr);
    assert.deepEqual(runDirsIn(tmp), [], 'the temporary spool directory is removed');
  });
});
