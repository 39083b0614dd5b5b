/**
 * firmware/FLASHING.md against the code it documents: the flash commands parse with the
 * script's own argument parser, the dry runs print what the doc shows, and the MQTT
 * commands pass the bridge's own parser on the topic the bridge subscribes to.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseFlashArgs } from '../../scripts/flash';
import { parseCommandPayload, topicsFor } from '../../bridge/src';
import { configFrom } from '../bridge/helpers/bridge-harness';
import { docBlock } from './helpers/socat-export';
import { repoRoot } from './helpers/systemd-bridge';

const DOC = path.join(repoRoot, 'firmware', 'FLASHING.md');

/** Every `npm run flash -- ARGS` line in the doc's code blocks, as argv after the `--`. */
function flashLines(): string[][] {
  const text = fs.readFileSync(DOC, 'utf8');
  const out: string[][] = [];
  for (const block of text.match(/```[a-z]*\n[\s\S]*?```/g) ?? []) {
    for (const line of block.split('\n')) {
      const m = /^(?:[A-Z_]+=\S+\s+)*npm run flash -- (.*?)(?:\s+#.*)?$/.exec(line.trim());
      if (m) out.push(m[1].trim().split(/\s+/));
    }
  }
  return out;
}

function dryRun(args: string[]): string {
  const r = spawnSync(process.execPath, ['scripts/ts-run.js', 'scripts/flash.ts', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, `npm run flash -- ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

describe('deploy: firmware/FLASHING.md', function () {
  this.timeout(60000);

  it('every npm run flash line uses flags the script accepts, over USB and over TCP', () => {
    const lines = flashLines();
    assert.ok(lines.length >= 4, `found ${lines.length} flash commands`);
    const ports = new Set<string>();
    for (const args of lines) {
      const o = parseFlashArgs(args);
      ports.add(o.port.startsWith('tcp://') ? 'tcp' : 'device');
    }
    assert.deepEqual([...ports].sort(), ['device', 'tcp']);
    // The README's quick lines too (firmware/README.md links here).
    const readme = fs.readFileSync(path.join(repoRoot, 'firmware', 'README.md'), 'utf8');
    for (const m of readme.matchAll(/npm run flash -- ([^#\n]+)/g)) parseFlashArgs(m[1].trim().split(/\s+/));
  });

  it('the USB dry run prints what the doc shows; the TCP one names the tcp:// port for both steps', () => {
    const usb = docBlock(DOC, 'flash-usb').trim();
    const args = usb.replace(/^npm run flash -- /, '').split(/\s+/);
    assert.ok(args.includes('--dry-run'));
    const shown = docBlock(DOC, 'flash-dry-run-output').trim();
    const printed = dryRun(args).trim();
    const bytes = (s: string): string => s.replace(/: \d+ bytes/, ': N bytes');
    assert.equal(bytes(printed), bytes(shown));
    const tcpArgs = docBlock(DOC, 'flash-tcp').split('\n').find((l) => l.startsWith('npm run flash') && l.includes('--dry-run'))!
      .replace(/^npm run flash -- /, '').trim().split(/\s+/);
    const tcp = dryRun(tcpArgs);
    const port = tcpArgs[tcpArgs.indexOf('--port') + 1];
    assert.match(port, /^tcp:\/\/[^:]+:7000$/, 'the TS-7670 export port of hardware/TS-7670.md');
    assert.ok(tcp.includes(`would send to ${port}: $C,v=1,id=1,cmd=console*`), tcp);
    assert.ok(tcp.includes(`-p ${port} --storage .bootcde:firmware/dist/firmware.js`), tcp);
  });

  it('the MQTT commands are valid for the bridge, on the topic it subscribes to with the default device id', () => {
    const block = docBlock(DOC, 'mqtt-commands');
    const base = configFrom({ 'source.url': 'tcp://127.0.0.1:1' });
    const topic = topicsFor(base.mqtt.base_topic || `solar/${base.device_id}`).command;
    const cmds = block.split('\n').filter((l) => l.startsWith('mosquitto_pub'));
    assert.ok(cmds.length >= 3);
    const kinds: string[] = [];
    for (const line of cmds) {
      assert.equal(/-t (\S+)/.exec(line)?.[1], topic);
      const payload = /-m '([^']+)'/.exec(line)![1];
      const parsed = parseCommandPayload(payload);
      assert.ok(parsed.ok, `${payload}: ${parsed.ok ? '' : parsed.detail}`);
      kinds.push(parsed.command.cmd);
    }
    assert.ok(kinds.includes('set'), 'the doc shows changing thresholds');
    // And the refusal the doc quotes is the parser's own words.
    const refused = parseCommandPayload('{"cmd":"set","bon":14,"boff":13}');
    assert.ok(!refused.ok);
    assert.ok(fs.readFileSync(DOC, 'utf8').includes(refused.detail!), `doc quotes: ${refused.detail}`);
  });
});
