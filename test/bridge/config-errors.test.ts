/**
 * Broken configurations against the real bridge CLI, as the service runs it (the --build
 * bundle under plain node with the service's node flags): each is refused by --check and
 * by a real start alike, with exit status 2 (the systemd unit does not restart on it), a
 * message naming the key and where it was set (file:line:column, variable or flag), and
 * no stack trace. A refused start has not started anything: no spool directory appears.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SERVICE_NODE_FLAGS } from '../../bridge/src';
import { makeTempDir, removeDir } from '../helpers/services';
import { makeTestPki, TestPki } from '../helpers/services/tls-certs';
import { bridgeBundle, bundleEnv } from '../deploy/helpers/systemd-bridge';

interface Case {
  name: string;
  /** The config file's text ({D} = this test's directory), or none. */
  yaml?: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Every one must appear in stderr ({F} = the config file's path, {D} = the directory). */
  expect: string[];
}

/** A billion-laughs file: 9^7 "lol"s if the aliases were expanded. */
const ALIAS_BOMB = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...['b', 'c', 'd', 'e', 'f', 'g'].map((n, i) => `${n}: &${n} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`),
  'source:', '  url: tcp://ts7670.lan:7000', '',
].join('\n');

const SRC = 'source:\n  url: tcp://ts7670.lan:7000\n';

const CASES: Case[] = [
  // URLs a client cannot connect to
  { name: 'an InfluxDB URL with a space in the host', yaml: `${SRC}influx:\n  url: "http://local host:8086"\n  bucket: solar\n`,
    expect: ['influx.url = "http://local host:8086" (in {F}:4:8): host "local host" is not a host name'] },
  { name: 'an InfluxDB URL with no host', yaml: `${SRC}influx:\n  url: "http://"\n  bucket: solar\n`,
    expect: ['influx.url = "http://" (in {F}:4:8): no host'] },
  { name: 'an MQTT URL with no host', yaml: `${SRC}mqtt:\n  url: "mqtt://"\n`, expect: ['mqtt.url = "mqtt://" (in {F}:4:8): no host; expected mqtt://, mqtts://, ws:// or wss:// URL'] },
  { name: 'an unsupported scheme', yaml: `${SRC}mqtt:\n  url: ftp://broker.lan\n`, expect: ['mqtt.url = "ftp://broker.lan" (in {F}:4:8): the scheme must be mqtt://, mqtts://, ws://, wss://'] },
  { name: 'port 99999', yaml: `${SRC}mqtt:\n  url: mqtt://broker.lan:99999\n`, expect: ['mqtt.url = "mqtt://broker.lan:99999" (in {F}:4:8): port 99999 is outside 1..65535'] },
  { name: 'port 0 to connect to', yaml: `${SRC}influx:\n  url: http://db.lan:0\n  bucket: solar\n`, expect: ['influx.url = "http://db.lan:0" (in {F}:4:8): port 0 is outside 1..65535'] },
  { name: 'port -1', yaml: `${SRC}influx:\n  url: http://db.lan:-1\n  bucket: solar\n`, expect: ['influx.url = "http://db.lan:-1" (in {F}:4:8): port "-1" is not a number'] },
  { name: 'a source host that is not an IPv4 address', yaml: 'source:\n  url: tcp://300.1.1.1:7000\n', expect: ['source.url = "tcp://300.1.1.1:7000" (in {F}:2:8): host 300.1.1.1 is not an IPv4 address'] },
  { name: 'a source port out of range', yaml: 'source:\n  url: tcp://ts7670.lan:70000\n', expect: ['source.url (in {F}:2:8): "tcp://ts7670.lan:70000": port "70000" is not 1..65535'] },
  // Addresses a server cannot listen on
  { name: 'a listen port out of range', yaml: `${SRC}http:\n  listen: 127.0.0.1:99999\n`, expect: ['http.listen = "127.0.0.1:99999" (in {F}:4:11): port 99999 is outside 0..65535'] },
  { name: 'an IPv6 listen address without brackets', yaml: `${SRC}http:\n  listen: "::1:9108"\n`, expect: ['http.listen = "::1:9108" (in {F}:4:11): an IPv6 address needs brackets: [::1]:PORT'] },
  { name: 'a listen address that is not this host\'s', yaml: `${SRC}http:\n  listen: 192.0.2.254:9108\n`, expect: ['http.listen = "192.0.2.254:9108" (in {F}:4:11): 192.0.2.254 is not an address of this host'] },
  { name: 'a NUT listen host that does not resolve', yaml: `${SRC}nut:\n  enabled: true\n  listen: nosuch.invalid:3493\n  users: [{ name: mon, password: pw, role: secondary }]\n`,
    expect: ['nut.listen = "nosuch.invalid:3493" (in {F}:5:11): host nosuch.invalid does not resolve'] },
  // Files that must exist, directories that must be writable
  { name: 'a missing CA file', yaml: `${SRC}mqtt:\n  url: mqtts://broker.lan:8883\n  tls:\n    ca: {D}/no-such-ca.pem\n`, expect: ['mqtt.tls.ca = "{D}/no-such-ca.pem" (in {F}:6:9): {D}/no-such-ca.pem does not exist'] },
  { name: 'a CA file with no certificate in it', yaml: `${SRC}mqtt:\n  url: mqtts://broker.lan:8883\n  tls:\n    ca: {D}/not-pem.txt\n`, expect: ['mqtt.tls.ca = "{D}/not-pem.txt" (in {F}:6:9): {D}/not-pem.txt holds no PEM certificate'] },
  { name: 'a client key that is not the certificate\'s', yaml: `${SRC}mqtt:\n  url: mqtts://broker.lan:8883\n  tls:\n    cert: {D}/pki/client.pem\n    key: {D}/pki/server.key\n`,
    expect: ['mqtt.tls.key (in {F}:7:10): {D}/pki/server.key does not belong to the certificate {D}/pki/client.pem'] },
  { name: 'a CA path that is a directory', yaml: `${SRC}mqtt:\n  url: mqtts://broker.lan:8883\n  tls:\n    ca: {D}\n`, expect: ['mqtt.tls.ca = "{D}" (in {F}:6:9): {D} is a directory, not a file'] },
  { name: 'a spool directory below a file', yaml: `${SRC}spool:\n  dir: {D}/not-pem.txt/spool\n`, expect: ['spool.dir = "{D}/not-pem.txt/spool" (in {F}:4:8): {D}/not-pem.txt/spool cannot be created: {D}/not-pem.txt is not a directory'] },
  { name: 'a spool directory that is a file', yaml: `${SRC}spool:\n  dir: {D}/not-pem.txt\n`, expect: ['spool.dir = "{D}/not-pem.txt" (in {F}:4:8): {D}/not-pem.txt exists and is not a directory'] },
  { name: 'a battery state file that is a directory', yaml: `${SRC}battery:\n  state_file: {D}\n`, expect: ['battery.state_file = "{D}" (in {F}:4:15): {D} is a directory, not a file'] },
  { name: 'a capture to replay that does not exist', yaml: 'source:\n  url: file:{D}/no-such-capture.log\n', expect: ['source.url = "file:{D}/no-such-capture.log" (in {F}:2:8): the capture to replay: {D}/no-such-capture.log does not exist'] },
  // A feature's own checks
  { name: 'a NUT user whose password variable is not set', yaml: `${SRC}nut:\n  enabled: true\n  users:\n    - name: mon\n      password_env: SOLAR_TEST_UNSET_PW\n      role: secondary\n`,
    expect: ['nut.users.0.password_env (in {F}:7:21): password_env names SOLAR_TEST_UNSET_PW, which is not set in the environment'] },
  // The file itself
  { name: 'a YAML alias bomb (billion laughs)', yaml: ALIAS_BOMB, expect: ['{F}:2:8: YAML error: aliases (*name) expand to too much (more than 100 expansions'] },
  { name: 'a YAML syntax error', yaml: 'source:\n  url: [tcp://a:1\nmqtt:\n', expect: ['{F}:3:1: YAML error: '] },
  { name: 'a duplicate key', yaml: `${SRC}source:\n  baud: 9600\n`, expect: ['{F}:3:1: YAML error: Map keys must be unique'] },
  { name: 'an unknown key', yaml: `${SRC}mqtt:\n  urll: mqtt://broker.lan\n`, expect: ['mqtt.urll: unknown setting (in {F}:4:9); mqtt takes url, '] },
  { name: 'a wrong type, deep in a section', yaml: `${SRC}mqtt:\n  homeassistant:\n    force_duration_s: soon\n`, expect: ['mqtt.homeassistant.force_duration_s = "soon" (in {F}:5:23): expected an integer'] },
  { name: 'a value below its minimum', yaml: `${SRC}spool:\n  max_bytes: 10\n`, expect: ['spool.max_bytes = 10 (in {F}:4:14): expected at least 1048576'] },
  { name: 'two keys that contradict each other', yaml: `${SRC}  reconnect_initial_ms: 5000\n  reconnect_max_ms: 100\n`, expect: ['source.reconnect_max_ms = 100 (in {F}:4:21): expected at least source.reconnect_initial_ms = 5000 (in {F}:3:25)'] },
  { name: 'a missing required key', yaml: 'source:\n  baud: 9600\n', expect: ['source.url is required (set it in the file, with SOLAR_BRIDGE_SOURCE_URL, or with a flag); source (in {F}:1:1) has none'] },
  { name: 'a top level that is not a mapping', yaml: '- a\n- b\n', expect: ['{F}:1:1: the top level must be a mapping'] },
  { name: 'brackets nested 200,000 deep', args: ['--config', '{D}/deep.yaml'], expect: ['{D}/deep.yaml:3:71: YAML error: [ and { nested more than 64 deep'] },
  { name: 'a list as a key', yaml: `${SRC}? [a, b]\n: c\n`, expect: ['{F}:3:3: YAML error: a key must be a word, not a list or mapping'] },
  { name: 'a config path that is a directory', args: ['--config', '{D}'], expect: ['cannot read config file {D}: it is a directory'] },
  { name: 'a config file far too big for one', args: ['--config', '{D}/huge.yaml'], expect: ['config file {D}/huge.yaml is 2097152 bytes; a configuration is a few KB'] },
  // Flags and environment
  { name: 'an unknown flag', args: ['--sauce', 'x'], expect: ['unknown flag --sauce (see --help)'] },
  { name: 'a flag without its value', args: ['--source'], expect: ['--source needs a value: URL'] },
  { name: 'a flag whose value was forgotten before the next flag', args: ['--source', '--mqtt', 'mqtt://broker.lan'], expect: ['--source needs a value: URL'] },
  { name: 'a bad number in a flag', args: ['--source', 'tcp://a:1', '--baud', 'fast'], expect: ['source.baud = "fast" (from --baud): expected an integer'] },
  { name: 'a stray argument', args: ['tcp://a:1'], expect: ['unexpected argument "tcp://a:1": every setting is a flag'] },
  { name: 'a bad URL from the environment', args: ['--source', 'tcp://a:1'], env: { SOLAR_BRIDGE_MQTT_URL: 'mqtt://:1883' }, expect: ['mqtt.url = "mqtt://:1883" (from SOLAR_BRIDGE_MQTT_URL): no host'] },
];

describe('broken configurations: --check and the real start refuse each with exit 2 and its key', function () {
  this.timeout(180000);
  let dir: string;
  let bundle: string;
  let pki: TestPki;

  before(() => {
    bundle = bridgeBundle();
    dir = makeTempDir('config-errors');
    fs.writeFileSync(path.join(dir, 'not-pem.txt'), 'this is not a certificate\n');
    fs.writeFileSync(path.join(dir, 'huge.yaml'), '#'.repeat(2 * 1024 * 1024));
    // Under the service's 24 MB heap the parser alone would run out of memory on this.
    fs.writeFileSync(path.join(dir, 'deep.yaml'), `source:\n  url: tcp://a:1\nmqtt: ${'['.repeat(200000)}\n`);
    fs.mkdirSync(path.join(dir, 'pki'));
    pki = makeTestPki(path.join(dir, 'pki'));
  });
  after(() => removeDir(dir));

  /** The bundle as the systemd unit runs it, from a directory of its own (relative paths land there). */
  function bridge(args: string[], env: NodeJS.ProcessEnv = {}) {
    const cwd = path.join(dir, 'cwd');
    fs.mkdirSync(cwd, { recursive: true });
    const r = spawnSync(process.execPath, [...SERVICE_NODE_FLAGS, bundle, ...args], { cwd, encoding: 'utf8', timeout: 60000, env: bundleEnv(env) });
    return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, cwd };
  }

  for (const c of CASES) {
    it(c.name, () => {
      const fill = (s: string, file: string): string => s.replace(/\{F\}/g, file).replace(/\{D\}/g, dir);
      const file = path.join(dir, `${c.name.replace(/[^a-z0-9]+/gi, '-')}.yaml`);
      if (c.yaml !== undefined) fs.writeFileSync(file, fill(c.yaml, file));
      const spool = path.join(dir, 'spool-of-a-refused-start');
      const args = [...(c.yaml !== undefined ? ['--config', file] : []), ...(c.args ?? []).map((a) => fill(a, file))];
      for (const mode of ['--check', 'start'] as const) {
        // The start gets its own spool flag unless the case is about flags or the spool.
        const extra = mode === '--check' ? ['--check'] : c.yaml !== undefined && !/spool:/.test(c.yaml) ? ['--spool', spool] : [];
        const r = bridge([...args, ...extra], c.env);
        const seen = `${mode}: exit ${r.status} ${r.signal ?? ''}\n${r.stderr}${r.stdout.slice(0, 500)}`;
        assert.equal(r.status, 2, seen);
        for (const e of c.expect) assert.ok(r.stderr.includes(fill(e, file)), `${mode}: expected in stderr:\n  ${fill(e, file)}\n${seen}`);
        assert.doesNotMatch(r.stderr, /^\s+at .+[:)]\s*$|ReferenceError|TypeError|RangeError|fatal/m, `${mode}: no stack trace or raw error\n${seen}`);
        assert.equal(r.stdout, '', `${mode}: nothing on stdout (no configuration printed, no log)`);
        assert.ok(!fs.existsSync(spool), `${mode}: a refused start opens nothing (no spool directory)`);
      }
    });
  }

  it('the same bridge takes a configuration that can work: --check prints it, a start runs and finishes its replay with exit 0', () => {
    const capture = path.join(dir, 'empty-capture.log');
    fs.writeFileSync(capture, '');
    const file = path.join(dir, 'good.yaml');
    fs.writeFileSync(file, [
      `source:\n  url: file:${capture}`,
      `spool:\n  dir: ${dir}/good/spool`,
      'http:\n  listen: localhost:0',
      'mqtt:\n  url: mqtts://broker.lan:8883',
      `  tls:\n    ca: ${pki.caFile}\n    cert: ${pki.clientCert}\n    key: ${pki.clientKey}`,
      'nut:\n  enabled: true\n  listen: "[::1]:0"\n  users:\n    - name: mon\n      password_env: SOLAR_TEST_NUT_PW\n      role: secondary',
      '',
    ].join('\n'));
    const check = bridge(['--config', file, '--check'], { SOLAR_TEST_NUT_PW: 'pw' });
    assert.equal(check.status, 0, check.stderr);
    assert.equal(JSON.parse(check.stdout).mqtt.tls.key, pki.clientKey);
    // A start without the MQTT sink (no broker here to confirm the replay).
    const run = bridge(['--config', file, '--mqtt', '', '--log-format', 'json'], { SOLAR_TEST_NUT_PW: 'pw' });
    assert.equal(run.status, 0, run.stderr + run.stdout);
    assert.ok(fs.existsSync(path.join(dir, 'good', 'spool')), 'it did start: the spool directory was created');
  });
});
