/**
 * The top-level README.md against the repository: every relative link resolves, the
 * quick-start commands are the ones CI runs, every `npm run X` names a script, every
 * `npm start` / `npm run sim` / `npm run bridge` / `npm run flash` line parses with that
 * script's own argument parser, the threshold command passes the bridge's command parser
 * on the topic the bridge listens to, and the TS-7670 export (socat line and TCP port) is
 * the same in every document that shows it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseCliArgs, parseCommandPayload, resolveConfig, topicsFor } from '../../bridge/src';
import { parseFlashArgs } from '../../scripts/flash';
import { parseStartArgs } from '../../scripts/start/start-options';
import { parseArgs as parseSimArgs } from '../../simulator/cli';
import { SCENARIOS } from '../../simulator/scenarios';

const root = path.join(__dirname, '..', '..');
const read = (rel: string): string => fs.readFileSync(path.join(root, rel), 'utf8');
const README = read('README.md');

/** The text of every fenced code block, in order. */
function codeBlocks(md: string): string[] {
  return [...md.matchAll(/^[ \t]*```[a-z]*\n([\s\S]*?)^[ \t]*```/gm)].map((m) => m[1]);
}

/** Markdown with fenced blocks and inline code removed, so only prose links remain. */
function prose(md: string): string {
  return md.replace(/^[ \t]*```[a-z]*\n[\s\S]*?^[ \t]*```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
function anchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

function anchorsOf(md: string): Set<string> {
  return new Set([...prose(md).matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchor(m[1])));
}

/** Lines of code blocks and inline code spans that start with `prefix`, cut at a comment. */
function commandLines(prefix: string): string[] {
  const inline = [...README.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);
  const lines = [...codeBlocks(README).flatMap((b) => b.split('\n')), ...inline];
  return lines.map((l) => l.trim().replace(/\s+#.*$/, '')).filter((l) => l.startsWith(prefix));
}

const argv = (line: string, prefix: string): string[] => line.slice(prefix.length).trim().split(/\s+/).filter((a) => a !== '');

describe('docs: README.md', () => {
  it('every relative link and image resolves to a file in the repository, and every #anchor to a heading', () => {
    const links = [...prose(README).matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1]);
    assert.ok(links.length >= 20, `found only ${links.length} links`);
    const broken: string[] = [];
    for (const link of links) {
      if (/^[a-z]+:/i.test(link)) continue;
      const [file, hash] = link.split('#');
      const target = file === '' ? path.join(root, 'README.md') : path.join(root, file);
      if (!fs.existsSync(target)) {
        broken.push(`${link}: no such file`);
        continue;
      }
      if (hash && target.endsWith('.md') && !anchorsOf(fs.readFileSync(target, 'utf8')).has(hash)) broken.push(`${link}: no heading for #${hash}`);
    }
    assert.deepEqual(broken, []);
  });

  it('shows the simulator chart it links, an SVG committed under docs/', () => {
    assert.match(README, /!\[[^\]]+\]\(docs\/day-chart\.svg\)/);
    assert.match(read('docs/day-chart.svg').slice(0, 200), /^<svg /);
  });

  it('the quick start is npm install && npm start, then exactly the test command .ci/run runs', () => {
    const ci = read('.ci/run').trim().split('\n');
    const testCommand = ci[ci.length - 1].trim();
    assert.equal(testCommand, 'npm run setup && npm test');
    const quick = README.slice(README.indexOf('## Quick start'));
    const first = codeBlocks(quick)[0].split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => l !== '');
    assert.deepEqual(first, ['npm install && npm start', testCommand]);
  });

  it('the sections come in the order of a user guide', () => {
    const headings = [...prose(README).matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    assert.deepEqual(headings, ['What it is', 'Quick start', 'Build the hardware', 'Deploy', 'Configure', 'Operate', 'Troubleshoot', 'Scaling past one site', 'Development']);
  });

  it('every npm run X is a script in package.json', () => {
    const scripts = Object.keys((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts);
    const used = new Set([...README.matchAll(/npm run ([a-z:]+)/g)].map((m) => m[1]));
    assert.ok(used.size >= 6);
    for (const s of used) assert.ok(scripts.includes(s), `npm run ${s}: no such script`);
  });

  it('every npm start, npm run sim, npm run bridge and npm run flash line parses with its script\'s own parser', () => {
    const start = commandLines('npm start -- ');
    assert.ok(start.length >= 3, `${start.length} npm start lines`);
    for (const l of start) {
      const r = parseStartArgs(argv(l, 'npm start -- '));
      assert.ok(r.ok, `${l}: ${r.ok ? '' : r.error}`);
    }
    const sim = commandLines('npm run sim -- ');
    assert.ok(sim.length >= 2);
    for (const l of sim) parseSimArgs(argv(l, 'npm run sim -- '));
    for (const l of commandLines('npm run bridge -- ')) {
      const r = parseCliArgs(argv(l, 'npm run bridge -- '));
      assert.ok(r.ok, `${l}: ${r.ok ? '' : r.error}`);
    }
    const flash = commandLines('npm run flash -- ');
    assert.ok(flash.length >= 2);
    for (const l of flash) parseFlashArgs(argv(l, 'npm run flash -- '));
  });

  it('names every scenario npm start accepts', () => {
    for (const name of Object.keys(SCENARIOS)) assert.ok(README.includes(`\`${name}\``), `scenario ${name} not in README.md`);
  });

  it('the threshold command is valid, on the topic the bridge subscribes to with the default device id', () => {
    const r = resolveConfig({ env: {}, flags: [{ key: 'source.url', value: 'tcp://127.0.0.1:1', flag: '--source' }] });
    assert.ok(r.ok);
    const topic = topicsFor(r.config.mqtt.base_topic).command;
    const pubs = commandLines('mosquitto_pub ');
    assert.ok(pubs.length >= 2);
    const kinds: string[] = [];
    for (const line of pubs) {
      const t = /-t (\S+)/.exec(line)?.[1];
      assert.equal(t, topic, line);
      const parsed = parseCommandPayload(/-m '([^']+)'/.exec(line)![1]);
      assert.ok(parsed.ok, `${line}: ${parsed.ok ? '' : parsed.detail}`);
      kinds.push(parsed.command.cmd);
    }
    assert.ok(kinds.includes('set'));
    const refused = parseCommandPayload('{"cmd":"set","bon":14,"boff":13}');
    assert.ok(!refused.ok);
    assert.ok(README.includes(refused.detail!), `README quotes the refusal: ${refused.detail}`);
  });

  it('the TS-7670 export is the same command and port in every document that shows it', () => {
    const ts = read('hardware/TS-7670.md');
    const canonical = /<!-- socat-export -->\s*```sh\n(.*)\n```/.exec(ts)?.[1];
    assert.ok(canonical, 'hardware/TS-7670.md has its socat-export block');
    const port = /TCP-LISTEN:(\d+)/.exec(canonical)![1];
    const unit = read('bridge/systemd/solar-serial-export.service');
    assert.ok(unit.includes(`ExecStart=/usr/bin/${canonical}`), 'the export unit runs the same command');
    const docs = ['README.md', 'hardware/WIRING.md', 'bridge/README.md'];
    for (const doc of docs) {
      const lines = read(doc).split('\n').map((l) => l.trim()).filter((l) => l.startsWith('socat ') && l.includes('TCP-LISTEN'));
      assert.ok(lines.length >= 1, `${doc} shows the socat export`);
      for (const l of lines) assert.equal(l, canonical, `${doc}: socat export differs from hardware/TS-7670.md`);
    }
    const files = [...docs, 'hardware/TS-7670.md', 'firmware/FLASHING.md', 'firmware/README.md', 'bridge/config.example.yaml',
      'bridge/systemd/bridge.yaml', 'bridge/systemd/INSTALL.md'];
    for (const f of files) {
      for (const m of read(f).matchAll(/tcp:\/\/ts7670(?:\.lan)?:(\d+)/g)) assert.equal(m[1], port, `${f}: ${m[0]} (the export listens on ${port})`);
    }
  });
});
