import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { COMPARATOR_BOARD, DEFAULT_THRESHOLDS, REMOTE_DRIVER, comparatorTripPoints } from '../../hardware';
import { SCHEMATICS_DIR, generatedFiles, tableIn, withTable } from '../../schematics/generate';
import { allNetlists } from '../../schematics/netlists';
import { tripTable, tripTableMarkdown } from '../../schematics/simulate';
import { ohms } from '../../schematics/svg';

const REGENERATE = 'run `npx ts-node schematics/generate.ts` and commit the result';

/** Reads a SPICE value as the netlists write it ("82k", "1.431307k", "1Meg", "20u"). */
function spiceValue(s: string): number {
  const m = /^([-+0-9.eE]+)(Meg|T|G|k|m|u|n|p)?$/.exec(s);
  if (!m) throw new Error(`not a SPICE number: ${s}`);
  const scale: Record<string, number> = { T: 1e12, G: 1e9, Meg: 1e6, k: 1e3, m: 1e-3, u: 1e-6, n: 1e-9, p: 1e-12 };
  return Number(m[1]) * (m[2] ? scale[m[2]] : 1);
}

/** Top-level element lines of a netlist (not comments, dot-commands, or the subcircuit's insides). */
function elements(text: string): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  let inSub = false;
  let inControl = false;
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (l.startsWith('.subckt')) inSub = true;
    if (l.startsWith('.ends')) { inSub = false; continue; }
    if (l.startsWith('.control')) inControl = true;
    if (l.startsWith('.endc')) { inControl = false; continue; }
    if (inSub || inControl || l === '' || l.startsWith('*') || l.startsWith('.')) continue;
    const parts = l.split(/\s+/);
    out.push({ name: parts[0], value: parts[parts.length - 1] });
  }
  return out;
}

/** The drawing's visible text, unescaped. */
function svgText(svg: string): string {
  return [...svg.matchAll(/<tspan[^>]*>([^<]*)<\/tspan>/g)].map((m) => m[1]).join('\n')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

/** Every opened tag is closed in order: enough to catch a broken generator. */
function assertWellFormed(svg: string, file: string): void {
  assert.ok(svg.startsWith('<?xml'), `${file}: no XML declaration`);
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, closing, tag, selfClosing] = m;
    if (selfClosing) continue;
    if (closing) assert.equal(stack.pop(), tag, `${file}: </${tag}> closes the wrong element`);
    else stack.push(tag);
  }
  assert.deepEqual(stack, [], `${file}: unclosed ${stack.join(', ')}`);
}

/** Netlist elements drawn as something other than their own name (supplies, the MCU pin model). */
const DRAWN_AS: Record<string, string> = {
  VCC: '+5 V', VSUP: '+5 V', BREG: 'LM78C05', VDRV: 'MCU pin', RDRV: 'MCU pin', ILEAK: 'MCU pin',
};

describe('schematics: generated files', function () {
  this.timeout(30000);

  it('the committed .cir and .svg files are what generate.ts makes from hardware/ now', () => {
    const files = generatedFiles(COMPARATOR_BOARD, REMOTE_DRIVER);
    // Four netlists, four drawings, and the tolerance analysis's netlist.
    assert.equal(files.length, 9);
    for (const f of files) {
      let onDisk: string;
      try {
        onDisk = readFileSync(path.join(SCHEMATICS_DIR, f.file), 'utf8');
      } catch {
        assert.fail(`schematics/${f.file} is missing: ${REGENERATE}`);
      }
      assert.ok(onDisk === f.text, `schematics/${f.file} is stale (hardware/ or the generator changed): ${REGENERATE}`);
    }
  });

  it('every drawing is well-formed SVG', () => {
    const histogram = { file: 'tolerance-histogram.svg', text: readFileSync(path.join(SCHEMATICS_DIR, 'tolerance-histogram.svg'), 'utf8') };
    for (const f of [...generatedFiles().filter((g) => g.file.endsWith('.svg')), histogram]) {
      assertWellFormed(f.text, f.file);
      assert.match(f.text, /<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+"/);
    }
  });

  it('each drawing shows every part of its netlist, by the same name and with the same value', () => {
    const svgs = new Map(generatedFiles().map((f) => [f.file, f.text]));
    for (const net of allNetlists(COMPARATOR_BOARD, REMOTE_DRIVER)) {
      const text = svgText(svgs.get(`${net.name}.svg`) ?? '');
      assert.ok(text.length > 0, `no drawing for ${net.name}`);
      const parts = elements(net.text);
      assert.ok(parts.length >= 8, `${net.name}: only ${parts.length} elements parsed`);
      for (const p of parts) {
        const drawnAs = DRAWN_AS[p.name] ?? p.name;
        // Channel instances and the pot halves appear inside the board drawing's blocks, not one by one.
        if (net.name === 'comparator-board' && /^(R(TOP|POTU|POTL|BOT|IN|FB|PU)[BS]|XU1[BS])$/.test(p.name)) {
          if (p.name.startsWith('XU1')) assert.ok(text.includes(p.name), `${net.name}: ${p.name} not drawn`);
          continue;
        }
        assert.ok(text.includes(drawnAs), `${net.name}.svg does not show ${p.name} (as "${drawnAs}")`);
        if (p.name.startsWith('R') && !(p.name in DRAWN_AS)) {
          const label = ohms(spiceValue(p.value));
          assert.ok(text.includes(label), `${net.name}.svg does not show ${p.name}'s value ${label}`);
        }
      }
    }
  });

  it('a changed resistor shows up in the netlist and the drawing', () => {
    const changed = JSON.parse(JSON.stringify(COMPARATOR_BOARD)) as typeof COMPARATOR_BOARD;
    changed.battery.rFeedback = 123000;
    const files = new Map(generatedFiles(changed, REMOTE_DRIVER).map((f) => [f.file, f.text]));
    assert.match(files.get('battery-comparator.cir') ?? '', /^RFBB out_b inp_b 123k$/m);
    assert.ok(svgText(files.get('battery-comparator.svg') ?? '').includes('123 kΩ'));
    const tripText = comparatorTripPoints(changed, changed.battery).risingV.toFixed(3);
    assert.ok(svgText(files.get('battery-comparator.svg') ?? '').includes(tripText), 'the drawing\'s trip points follow the parts');
  });

  it('the README\'s trip-point table matches hardware/, the firmware defaults and a fresh ngspice run', async () => {
    const readme = readFileSync(path.join(SCHEMATICS_DIR, 'README.md'), 'utf8');
    const table = tableIn(readme);
    const fresh = await tripTable(COMPARATOR_BOARD);
    const rows = table.split('\n').slice(2).map((l) => l.split('|').map((c) => c.trim()).filter((c) => c));
    assert.equal(rows.length, fresh.length, `table rows: ${REGENERATE}`);
    const firmware: Record<string, number> = { ...DEFAULT_THRESHOLDS };
    for (let i = 0; i < rows.length; i++) {
      const [key, , spice, computed, firmwareCell] = rows[i];
      const r = fresh[i];
      assert.equal(key, `\`${r.threshold}\``);
      assert.equal(computed, `${r.computedV.toFixed(3)} V`, `computed ${r.threshold}: ${REGENERATE}`);
      assert.equal(firmwareCell, `${firmware[r.threshold].toFixed(3)} V`, `firmware ${r.threshold}: ${REGENERATE}`);
      assert.ok(Math.abs(parseFloat(spice) - r.spiceV) < 0.005, `SPICE ${r.threshold}: README ${spice}, now ${r.spiceV.toFixed(3)} V: ${REGENERATE}`);
    }
    // The README is exactly what the generator would write with these rows, bar ngspice's last digit.
    assert.equal(withTable(readme, tripTableMarkdown(fresh)).split('\n').length, readme.split('\n').length);
  });
});
