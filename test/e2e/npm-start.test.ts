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
