/**
 * The systemd units in bridge/systemd/: systemd's own parser and security reviewer on
 * them, the sysusers file in a scratch root, and the bridge unit's ExecStart= line run for
 * real against a freshly built bundle with the shipped bridge.yaml and bridge.env.example.
 * What cannot run in a container (systemd as PID 1 enforcing the sandbox) is not claimed.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SERVICE_ENV, SERVICE_NODE_FLAGS } from '../../bridge/src';
import { LineServer, freePort, makeTempDir, removeDir, waitFor } from '../helpers/services';
import { makeTestPki } from '../helpers/services/tls-certs';
import { readingLine } from '../bridge/helpers/frames';
import { UnitFile, execArgv, expandSpecifiers, parseEnvironmentFile } from './helpers/systemd-unit';
import { bridgeBundle, bundleEnv, repoRoot } from './helpers/systemd-bridge';

const dir = path.join(repoRoot, 'bridge', 'systemd');
const BRIDGE_UNIT = path.join(dir, 'solar-bridge.service');
const EXPORT_UNIT = path.join(dir, 'solar-serial-export.service');

/**
 * systemd-analyze comes with Debian's systemd package (scripts/system-packages.txt). If it
 * is missing the test fails: the unit would otherwise go unchecked without anyone noticing.
 */
function systemdAnalyze(args: string[]): { status: number | null; out: string; err: string } {
  const r = spawnSync('systemd-analyze', args, { encoding: 'utf8', timeout: 30000 });
  if (r.error) assert.fail(`systemd-analyze could not run (${r.error.message}); install the systemd package (scripts/system-packages.txt)`);
  return { status: r.status, out: r.stdout, err: r.stderr };
}

/**
 * A copy of a unit for verify: same name, same content, except an ExecStart= binary this
 * machine keeps elsewhere (e.g. node in /usr/local/bin) is pointed at the real one, since
 * verify checks that the program exists.
 */
function verifiableCopy(unitPath: string, scratch: string): string {
  let text = fs.readFileSync(unitPath, 'utf8');
  const unit = new UnitFile(text, unitPath);
  for (const exec of unit.all('Service', 'ExecStart')) {
    const bin = execArgv(exec)[0];
    if (fs.existsSync(bin)) continue;
    const here = spawnSync('sh', ['-c', `command -v ${path.basename(bin)}`], { encoding: 'utf8' }).stdout.trim();
    assert.ok(here, `${bin} (ExecStart of ${path.basename(unitPath)}) is not installed here`);
    text = text.split(bin).join(here);
  }
  const copy = path.join(scratch, path.basename(unitPath));
  fs.writeFileSync(copy, text);
  return copy;
}

/** Lines systemd-analyze printed about this unit file (unknown keys, bad values, missing programs). */
function warningsAbout(output: string, unitPath: string): string[] {
  const name = path.basename(unitPath);
  return output.split('\n').filter((l) => l.includes(name));
}

describe('deploy: systemd units (bridge/systemd)', function () {
  this.timeout(60000);
  let scratch = '';
  before(() => { scratch = makeTempDir('systemd'); });
  after(() => removeDir(scratch));

  it('systemd-analyze verify accepts both units without a single warning, and does flag a broken copy', () => {
    for (const unit of [BRIDGE_UNIT, EXPORT_UNIT]) {
      const copy = verifiableCopy(unit, scratch);
      const r = systemdAnalyze(['verify', copy]);
      assert.equal(r.status, 0, `verify ${path.basename(unit)}:\n${r.out}${r.err}`);
      assert.deepEqual(warningsAbout(r.out + r.err, copy), [], `verify warned about ${path.basename(unit)}`);
    }
    // The control: unknown keys and bad values are only warnings (status 0) in systemd, so
    // the check above must be reading them. A broken copy must produce some.
    const broken = path.join(scratch, 'broken', 'solar-bridge.service');
    fs.mkdirSync(path.dirname(broken), { recursive: true });
    fs.writeFileSync(broken, fs.readFileSync(verifiableCopy(BRIDGE_UNIT, scratch), 'utf8')
      .replace(/^ProtectSystem=strict$/m, 'ProtectSystem=strickt').replace('Restart=always', 'Restart=always\nRestartt=always'));
    const r = systemdAnalyze(['verify', broken]);
    const warned = warningsAbout(r.out + r.err, broken).join('\n');
    assert.match(warned, /protect system value.*strickt/i);
    assert.match(warned, /Unknown key '?Restartt'?/i);
  });

  it('the bridge unit passes systemd\'s offline security review at exposure 2.5 or better', () => {
    const copy = verifiableCopy(BRIDGE_UNIT, scratch);
    const r = systemdAnalyze(['security', '--offline=yes', '--threshold=25', copy]);
    const overall = /Overall exposure level for [^:]+: (\d+\.\d)/.exec(r.out);
    assert.ok(overall, `no overall exposure in:\n${r.out}${r.err}`);
    assert.equal(r.status, 0, `exposure ${overall[1]} is above 2.5:\n${r.out}`);
    assert.ok(Number(overall[1]) <= 2.5);
  });

  it('the bridge unit has what the deployment needs: restart, user, state directory, dialout, secrets file, hardening', () => {
    const u = UnitFile.read(BRIDGE_UNIT);
    const S = 'Service';
    assert.equal(u.get(S, 'Restart'), 'always');
    assert.equal(u.get('Unit', 'StartLimitIntervalSec'), '0', 'no start limit: restart forever');
    assert.equal(u.get(S, 'User'), 'solar-bridge');
    assert.equal(u.get(S, 'StateDirectory'), 'solar-bridge');
    assert.ok(u.words(S, 'SupplementaryGroups').includes('dialout'));
    assert.deepEqual(u.all(S, 'EnvironmentFile'), ['-/etc/solar-bridge/bridge.env']);
    assert.equal(u.get(S, 'KillSignal'), 'SIGTERM');
    for (const [key, value] of [['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes']]) {
      assert.equal(u.get(S, key), value, `${key}=`);
    }
    assert.deepEqual(u.words(S, 'RestrictAddressFamilies').sort(), ['AF_INET', 'AF_INET6', 'AF_UNIX']);
    // V8 JIT-compiles into writable+executable pages: this setting would kill node at start.
    assert.notEqual(u.get(S, 'MemoryDenyWriteExecute'), 'yes');
    // The one writable place under ProtectSystem=strict is the state directory: the spool must be there.
    const argv = execArgv(u.get(S, 'ExecStart')!);
    assert.equal(argv[argv.indexOf('--spool') + 1], '%S/solar-bridge/spool');
    assert.equal(u.get(S, 'WorkingDirectory'), '%S/solar-bridge');
  });

  it('the sysusers file creates the unit\'s user and puts it in dialout', () => {
    const root = path.join(scratch, 'root');
    fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
    fs.mkdirSync(path.join(root, 'usr/lib/sysusers.d'), { recursive: true });
    fs.writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\ndialout:x:20:\n');
    fs.writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
    fs.copyFileSync(path.join(dir, 'solar-bridge.sysusers'), path.join(root, 'usr/lib/sysusers.d/solar-bridge.conf'));
    const r = spawnSync('systemd-sysusers', [`--root=${root}`], { encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 0, `systemd-sysusers: ${r.error?.message ?? ''}${r.stderr}`);
    const user = UnitFile.read(BRIDGE_UNIT).get('Service', 'User')!;
    const passwd = fs.readFileSync(path.join(root, 'etc/passwd'), 'utf8');
    const entry = passwd.split('\n').find((l) => l.startsWith(`${user}:`));
    assert.ok(entry, `no ${user} in passwd:\n${passwd}`);
    const [, , uid, , , home, shell] = entry.split(':');
    assert.ok(Number(uid) > 0 && Number(uid) < 1000, `a system uid, got ${uid}`);
    assert.equal(home, '/var/lib/solar-bridge');
    assert.equal(shell, '/usr/sbin/nologin');
    const dialout = fs.readFileSync(path.join(root, 'etc/group'), 'utf8').split('\n').find((l) => l.startsWith('dialout:'))!;
    assert.ok(dialout.split(':')[3].split(',').includes(user), dialout);
  });

  describe('ExecStart= against the real bridge', () => {
    /** The unit's command line with the install paths mapped onto this checkout and %S onto a scratch state root. */
    function execStart(stateRoot: string): { argv: string[]; cwd: string; env: NodeJS.ProcessEnv } {
      const u = UnitFile.read(BRIDGE_UNIT);
      const raw = execArgv(u.get('Service', 'ExecStart')!).map((a) => expandSpecifiers(a, { S: stateRoot }));
      const [node, ...rest] = raw;
      assert.match(node, /\/node$/);
      // Node's own flags come before the script: the memory settings the bench measured.
      const nodeFlags = rest.slice(0, rest.findIndex((a) => !a.startsWith('--')));
      assert.deepEqual(nodeFlags, SERVICE_NODE_FLAGS, 'the unit runs node with the service heap flags');
      // And with malloc's settings the benchmarks measured.
      const unitEnv = Object.fromEntries(u.words('Service', 'Environment').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
      assert.deepEqual(unitEnv, SERVICE_ENV, 'the unit sets the service malloc environment');
      const [bundle, ...args] = rest.slice(nodeFlags.length);
      // The unit runs what `npm run bridge -- --build` writes by default.
      const help = spawnSync(process.execPath, [bridgeBundle(), '--help'], { encoding: 'utf8', env: bundleEnv() }).stdout;
      const defaultOut = /--build \[FILE\]\s+write the bridge as a JavaScript file \(default ([^)]+)\)/.exec(help);
      assert.ok(defaultOut, 'the help text names the bundle\'s default path');
      assert.ok(bundle.endsWith('/' + defaultOut[1]), `${bundle} is not the --build output ${defaultOut[1]}`);
      const config = args[args.indexOf('--config') + 1];
      assert.equal(config, '/etc/solar-bridge/bridge.yaml');
      // The shipped bridge.yaml with the files it names under /etc/solar-bridge (the broker's
      // CA, which the bridge checks before it starts) in a scratch directory instead.
      const etc = path.join(stateRoot, 'etc-solar-bridge');
      fs.mkdirSync(etc, { recursive: true });
      fs.copyFileSync(makeTestPki(etc).caFile, path.join(etc, 'mqtt-ca.pem'));
      const shipped = fs.readFileSync(path.join(dir, 'bridge.yaml'), 'utf8');
      assert.ok(shipped.includes('/etc/solar-bridge/mqtt-ca.pem'), 'the shipped config names the broker CA under /etc/solar-bridge');
      fs.writeFileSync(path.join(etc, 'bridge.yaml'), shipped.replace(/\/etc\/solar-bridge\//g, `${etc}/`));
      const mapped = args.map((a) => (a === config ? path.join(etc, 'bridge.yaml') : a));
      const envFile = u.all('Service', 'EnvironmentFile')[0].replace(/^-/, '');
      assert.equal(envFile, '/etc/solar-bridge/bridge.env');
      const env = parseEnvironmentFile(fs.readFileSync(path.join(dir, 'bridge.env.example'), 'utf8'));
      const cwd = expandSpecifiers(u.get('Service', 'WorkingDirectory')!, { S: stateRoot });
      return { argv: [...nodeFlags, bridgeBundle(), ...mapped], cwd, env: { ...bundleEnv(env), ...unitEnv } };
    }

    it('--check accepts the unit\'s arguments with the shipped bridge.yaml and bridge.env.example', () => {
      const state = path.join(scratch, 'check');
      const e = execStart(state);
      const r = spawnSync(process.execPath, [...e.argv, '--check'], { encoding: 'utf8', env: e.env, timeout: 30000 });
      assert.equal(r.status, 0, r.stderr);
      const config = JSON.parse(r.stdout) as { spool: { dir: string }; mqtt: { password: string; username: string; url: string }; source: { url: string } };
      assert.equal(config.spool.dir, path.join(state, 'solar-bridge', 'spool'));
      assert.equal(config.mqtt.username, 'solar-bridge');
      assert.match(config.mqtt.url, /^mqtts:\/\//);
      assert.notEqual(config.mqtt.password, '', 'the env file set the password');
      assert.ok(!r.stdout.includes('change-me'), 'secrets are masked in --check output');
      assert.match(config.source.url, /^tcp:\/\/ts7670\.lan:7000$/);
    });

    it('starts as the unit starts it, spools under the state directory, and exits 0 on SIGTERM within TimeoutStopSec', async () => {
      const state = path.join(scratch, 'run');
      const e = execStart(state);
      // systemd creates the state and working directory before ExecStart.
      fs.mkdirSync(e.cwd, { recursive: true });
      const mcu = await LineServer.start();
      const httpPort = await freePort();
      // The only departures from the shipped files: where the MCU, the broker and InfluxDB are.
      const env = { ...e.env, SOLAR_BRIDGE_SOURCE_URL: mcu.url, SOLAR_BRIDGE_MQTT_URL: '', SOLAR_BRIDGE_INFLUX_URL: '', SOLAR_BRIDGE_HTTP_LISTEN: `127.0.0.1:${httpPort}` };
      const child = spawn(process.execPath, e.argv, { cwd: e.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => { out += d; });
      child.stderr.on('data', (d) => { out += d; });
      const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
      try {
        await waitFor(() => mcu.clientCount > 0, { timeoutMs: 15000, what: 'the bridge to connect to its source', detail: () => out });
        await mcu.send([1, 2, 3].map((s) => readingLine(s) + '\n').join(''));
        await waitFor(async () => {
          const r = await fetch(`http://127.0.0.1:${httpPort}/metrics`).catch(() => null);
          return r !== null && /solar_bridge_spool_appended_total 3\b/.test(await r.text());
        }, { timeoutMs: 10000, what: 'three frames in the spool', detail: () => out });
        const spool = path.join(state, 'solar-bridge', 'spool');
        assert.ok(fs.readdirSync(spool).some((f) => f.startsWith('seg-')), `segments in ${spool}`);
        const stopSec = Number(UnitFile.read(BRIDGE_UNIT).get('Service', 'TimeoutStopSec'));
        const t0 = Date.now();
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const code = await Promise.race([exited, new Promise<string>((res) => { timer = setTimeout(() => res('still running'), stopSec * 1000); })]);
        clearTimeout(timer);
        assert.equal(code, 0, `exit after SIGTERM (${Date.now() - t0} ms):\n${out}`);
        assert.ok(fs.existsSync(path.join(spool, 'last-reading.json')), 'state saved in the spool directory');
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        await exited;
        await mcu.close();
      }
    });
  });
});
