import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { configLeaves, envNameOf, helpText, parseCliArgs, parseSourceSpec, resolveConfig, SETTING_FLAGS } from '../../bridge/src';
import { makeTempDir, removeDir } from '../helpers/services';
import { repoRoot } from './helpers/bridge-harness';

const EXAMPLE = path.join(repoRoot, 'bridge', 'config.example.yaml');

function errorsOf(r: ReturnType<typeof resolveConfig>): string[] {
  assert.ok(!r.ok, 'expected the configuration to be refused');
  return r.errors;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, ['scripts/ts-run.js', 'scripts/bridge.ts', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 60000, env: { ...process.env, ...env } });
}

describe('bridge configuration', () => {
  it('fills every default and derives the base topic and client id from the device id', () => {
    const r = resolveConfig({ file: { name: 'c.yaml', text: 'device_id: garage\nsource:\n  url: tcp://ts7670.lan:2000\n' } });
    assert.ok(r.ok, JSON.stringify(r));
    const c = r.config;
    assert.equal(c.mqtt.base_topic, 'solar/garage');
    assert.equal(c.mqtt.client_id, 'solar-bridge-garage');
    assert.equal(c.source.baud, 115200);
    assert.equal(c.spool.max_bytes, 256 * 1024 * 1024);
    assert.equal(c.influx.api, 'v2');
    assert.equal(c.http.listen, '127.0.0.1:9108');
    assert.equal(c.mqtt.homeassistant.discovery_prefix, 'homeassistant');
  });

  it('the schema is the type: a resolved config has exactly the schema\'s keys, each of its JSON type', () => {
    const r = resolveConfig({ flags: [{ key: 'source.url', value: 'tcp://a:1', flag: '--source' }] });
    assert.ok(r.ok, JSON.stringify(r));
    const leaves = configLeaves();
    const valueAt = (p: string[]): unknown => p.reduce<unknown>((o, k) => (o as { [k: string]: unknown })[k], r.config);
    // A key without a default (the battery parameters: unset means the battery type's
    // preset) is absent until set; every other key is filled in.
    const optional = (l: typeof leaves[number]): boolean => !('default' in l.schema) && l.path.join('.') !== 'source.url';
    for (const l of leaves) {
      const v = valueAt(l.path);
      if (optional(l)) {
        assert.equal(v, undefined, l.path.join('.'));
        continue;
      }
      const want = l.type === 'integer' ? 'number' : l.type === 'array' ? 'object' : l.type;
      assert.equal(typeof v, want, `${l.path.join('.')}: ${JSON.stringify(v)}`);
      assert.equal(Array.isArray(v), l.type === 'array', l.path.join('.'));
      if (l.type === 'integer') assert.ok(Number.isInteger(v), l.path.join('.'));
    }
    const keys = (o: unknown, prefix: string[]): string[] => (o !== null && typeof o === 'object' && !Array.isArray(o)
      ? Object.entries(o as object).flatMap(([k, v]) => keys(v, [...prefix, k]))
      : [prefix.join('.')]);
    assert.deepEqual(keys(r.config, []).filter((k) => !k.startsWith('battery.params')).sort(),
      leaves.filter((l) => !optional(l)).map((l) => l.path.join('.')).sort());
    // Compile-time half: BridgeConfig is derived from the schema (config/schema.ts), so these
    // keys exist on the type only because the schema has them.
    const typed: [string, number, 'v1' | 'v2', boolean] = [r.config.source.url, r.config.spool.max_bytes, r.config.influx.api, r.config.mqtt.tls.reject_unauthorized];
    assert.equal(typed[2], 'v2');
  });

  it('takes environment overrides over the file and flags over both, typed by the schema', () => {
    const r = resolveConfig({
      file: { name: 'c.yaml', text: 'source:\n  url: tcp://a:1\nmqtt:\n  url: mqtt://file:1883\n  keepalive_s: 10\n' },
      env: { SOLAR_BRIDGE_MQTT_URL: 'mqtt://env:1883', SOLAR_BRIDGE_MQTT_KEEPALIVE_S: '45', SOLAR_BRIDGE_MQTT_HOMEASSISTANT_ENABLED: 'false', PATH: '/bin' },
      flags: [{ key: 'mqtt.url', value: 'mqtts://flag:8883', flag: '--mqtt' }],
    });
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.config.mqtt.url, 'mqtts://flag:8883');
    assert.equal(r.config.mqtt.keepalive_s, 45);
    assert.equal(r.config.mqtt.homeassistant.enabled, false);
  });

  it('every setting has an environment variable and appears, documented, in config.example.yaml', () => {
    const example = fs.readFileSync(EXAMPLE, 'utf8');
    const r = resolveConfig({ file: { name: EXAMPLE, text: example } });
    assert.ok(r.ok, JSON.stringify(r));
    const lines = example.split('\n');
    for (const leaf of configLeaves()) {
      const key = leaf.path[leaf.path.length - 1];
      const i = lines.findIndex((l) => new RegExp(`^\\s*#?\\s*${key}:`).test(l));
      assert.ok(i >= 0, `${leaf.path.join('.')} is not in config.example.yaml`);
      // Documented: a comment right above it, or above the run of sibling keys it belongs to.
      const indent = (l: string): number => l.length - l.trimStart().length;
      let j = i - 1;
      while (j >= 0 && /^\s*[a-z_]+:/.test(lines[j]) && indent(lines[j]) === indent(lines[i])) j--;
      assert.ok(j >= 0 && /^\s*#/.test(lines[j]), `${leaf.path.join('.')} has no comment in config.example.yaml`);
      assert.match(envNameOf(leaf.path), /^SOLAR_BRIDGE_[A-Z0-9_]+$/);
    }
  });

  it('names the key, the value, where it came from and what was expected', () => {
    const errs = errorsOf(resolveConfig({
      file: { name: 'bad.yaml', text: 'source:\n  url: tcp://a:1\nmqtt:\n  bse_topic: x\n  keepalive_s: soon\ninflux:\n  api: v3\nspool:\n  max_bytes: 10\nlog:\n  level: loud\n' },
    }));
    assert.ok(errs.includes('mqtt.bse_topic: unknown setting (in bad.yaml:4:14); mqtt takes url, username, password, client_id, base_topic, keepalive_s, connect_timeout_ms, reconnect_initial_ms, reconnect_max_ms, max_inflight, per_value_topics, state_qos, derived_interval_s, tls, homeassistant, commands'), errs.join('\n'));
    assert.ok(errs.includes('mqtt.keepalive_s = "soon" (in bad.yaml:5:16): expected an integer'), errs.join('\n'));
    assert.ok(errs.includes('influx.api = "v3" (in bad.yaml:7:8): expected one of v1, v2'), errs.join('\n'));
    assert.ok(errs.includes('spool.max_bytes = 10 (in bad.yaml:9:14): expected at least 1048576'), errs.join('\n'));
    assert.ok(errs.includes('log.level = "loud" (in bad.yaml:11:10): expected one of debug, info, warn, error'), errs.join('\n'));

    assert.deepEqual(errorsOf(resolveConfig({})), ['source.url is required (set it in the file, with SOLAR_BRIDGE_SOURCE_URL, or with a flag)']);
    assert.deepEqual(errorsOf(resolveConfig({ env: { SOLAR_BRIDGE_SOURCE_URL: 'tcp://a:1', SOLAR_BRIDGE_SPOOL_MAX_BYTES: 'lots' } })), ['spool.max_bytes = "lots" (from SOLAR_BRIDGE_SPOOL_MAX_BYTES): expected an integer']);
    assert.match(errorsOf(resolveConfig({ env: { SOLAR_BRIDGE_SOURCE_URL: 'tcp://a:1', SOLAR_BRIDGE_MQTT_PASSWRD: 'x' } }))[0], /environment variable SOLAR_BRIDGE_MQTT_PASSWRD: not a setting/);
    assert.deepEqual(errorsOf(resolveConfig({ flags: [{ key: 'source.url', value: 'tcp://host', flag: '--source' }] })), ['source.url (from --source): "tcp://host" has no port: expected tcp://HOST:PORT, serial:/dev/DEVICE (or a /dev/ path), file:PATH or - (stdin)']);
    assert.deepEqual(errorsOf(resolveConfig({ flags: [{ key: 'source.url', value: 'tcp://a:1', flag: '--source' }, { key: 'influx.url', value: 'http://db:8086', flag: '--influx-url' }, { key: 'influx.api', value: 'v1', flag: '--influx-api' }] })), ['influx.db is required when influx.api (from --influx-api) is v1 (the database /write goes to)']);
    assert.deepEqual(errorsOf(resolveConfig({ flags: [{ key: 'source.url', value: 'tcp://a:1', flag: '--source' }, { key: 'mqtt.url', value: 'http://broker', flag: '--mqtt' }] })), ['mqtt.url = "http://broker" (from --mqtt): the scheme must be mqtt://, mqtts://, ws://, wss://; expected mqtt://, mqtts://, ws:// or wss:// URL; empty turns the MQTT sink off']);
    assert.match(errorsOf(resolveConfig({ file: { name: 'y.yaml', text: 'source:\n  url: [unclosed\n' } }))[0], /^y\.yaml:3:1: YAML error: /);
    assert.match(errorsOf(resolveConfig({ file: { name: 'y.yaml', text: 'source:\n  url: tcp://a:1\nsource:\n  baud: 9600\n' } }))[0], /^y\.yaml:3:1: YAML error: .*unique/i);
    assert.match(errorsOf(resolveConfig({ file: { name: 'y.yaml', text: '- a\n- b\n' } }))[0], /the top level must be a mapping/);
    assert.match(errorsOf(resolveConfig({ file: { name: 'y.yaml', text: 'source:\n  url: tcp://a:1\nmqtt:\n  tls:\n    cert: /c.pem\n' } }))[0], /mqtt\.tls\.cert and mqtt\.tls\.key: expected both or neither/);
  });

  it('parses source URLs and refuses what it cannot open', () => {
    assert.deepEqual(parseSourceSpec('tcp://ts7670.lan:2000'), { ok: true, spec: { kind: 'tcp', host: 'ts7670.lan', port: 2000 } });
    assert.deepEqual(parseSourceSpec('tcp://[::1]:2000'), { ok: true, spec: { kind: 'tcp', host: '::1', port: 2000 } });
    assert.deepEqual(parseSourceSpec('/dev/ttyACM0'), { ok: true, spec: { kind: 'serial', path: '/dev/ttyACM0' } });
    assert.deepEqual(parseSourceSpec('serial:///dev/ttyUSB1'), { ok: true, spec: { kind: 'serial', path: '/dev/ttyUSB1' } });
    assert.deepEqual(parseSourceSpec('file:capture.log'), { ok: true, spec: { kind: 'replay', path: 'capture.log' } });
    assert.deepEqual(parseSourceSpec('-'), { ok: true, spec: { kind: 'replay', path: '-' } });
    for (const bad of ['tcp://host:99999', 'tcp://:1', 'serial:ttyACM0', 'http://x', 'file:']) assert.ok(!parseSourceSpec(bad).ok, bad);
  });

  it('CLI flags: every documented flag maps to a setting; unknown flags and missing values are errors', () => {
    const leaves = new Set(configLeaves().map((l) => l.path.join('.')));
    for (const f of SETTING_FLAGS) assert.ok(leaves.has(f.key), `${f.flag} -> ${f.key}`);
    for (const f of ['--source', '--mqtt', '--influx-url', '--influx-api', '--influx-db', '--influx-bucket', '--influx-org', '--influx-token', '--spool', '--device-id', '--http']) {
      assert.ok(SETTING_FLAGS.some((s) => s.flag === f), `missing flag ${f}`);
      assert.ok(helpText().includes(f), `--help does not mention ${f}`);
    }
    assert.deepEqual(parseCliArgs(['--source=tcp://a:1', '--config', 'x.yaml', '--check']), { ok: true, action: 'check', configFile: 'x.yaml', flags: [{ key: 'source.url', value: 'tcp://a:1', flag: '--source' }] });
    assert.deepEqual(parseCliArgs(['--sauce', 'x']), { ok: false, error: 'unknown flag --sauce (see --help)' });
    assert.deepEqual(parseCliArgs(['--mqtt']), { ok: false, error: '--mqtt needs a value: URL (one starting with -- as --mqtt=VALUE)' });
  });

  describe('npm run bridge (scripts/bridge.ts)', function () {
    // Four ts-node starts; on a loaded machine each takes 15 s.
    this.timeout(180000);
    let dir: string;
    before(() => { dir = makeTempDir('cli'); });
    after(() => removeDir(dir));

    it('--help prints the usage and exits 0', () => {
      const r = cli(['--help']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /usage: npm run bridge -- \[--config FILE\] \[flags\]/);
      assert.match(r.stdout, /--influx-api v1\|v2/);
    });

    it('a bad configuration exits 2 with every problem listed; --check prints the effective config with secrets masked', () => {
      const file = path.join(dir, 'bad.yaml');
      fs.writeFileSync(file, 'source:\n  url: tcp://a:1\nmqtt:\n  keepalive_s: -1\n');
      const r = cli(['--config', file, '--influx-api', 'v9']);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /invalid configuration:\n/);
      assert.match(r.stderr, /\n {2}- influx\.api = "v9" \(from --influx-api\): expected one of v1, v2\n/);
      assert.match(r.stderr, /\n {2}- mqtt\.keepalive_s = -1 \(in .*bad\.yaml:4:16\): expected at least 0\n/);
      const u = cli(['--bogus']);
      assert.equal(u.status, 2);
      assert.match(u.stderr, /unknown flag --bogus/);
      const m = cli(['--config', path.join(dir, 'missing.yaml')]);
      assert.equal(m.status, 2);
      assert.match(m.stderr, /cannot read config file .*missing\.yaml/);
      const ok = cli(['--config', EXAMPLE, '--check'], { SOLAR_BRIDGE_MQTT_PASSWORD: 'hunter2' });
      assert.equal(ok.status, 0, ok.stderr);
      const printed = JSON.parse(ok.stdout);
      assert.equal(printed.mqtt.password, '***');
      assert.ok(!ok.stdout.includes('hunter2'));
    });
  });
});
