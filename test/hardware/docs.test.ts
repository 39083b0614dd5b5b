import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as hw from '../../hardware';

// The Markdown in hardware/ quotes numbers that live in hardware/*.ts. These tests keep
// the two from drifting apart: every constant a table names in its Source column must
// appear, formatted, in the same row; every resistor drawn in WIRING.md must carry its
// BOM value; every 3-decimal voltage in the prose must be one the code computes.

const HW_DIR = path.join(__dirname, '..', '..', 'hardware');
const BOM = fs.readFileSync(path.join(HW_DIR, 'BOM.md'), 'utf8');
const WIRING = fs.readFileSync(path.join(HW_DIR, 'WIRING.md'), 'utf8');

const solar = hw.SOLAR_INPUT.kind === 'adc' ? hw.SOLAR_INPUT : assert.fail('solar input is not the ADC divider');
const gain = hw.solarDividerGain(solar);

/** Expressions other than plain constant paths that a Source cell may cite. */
const DERIVED: Record<string, string> = {
  'referenceVoltage(COMPARATOR_BOARD)': `${hw.referenceVoltage(hw.COMPARATOR_BOARD).toFixed(3)} V`,
  'solarDividerGain(SOLAR_INPUT)': gain.toFixed(3),
};

const num = (x: number): string => String(Number(x.toPrecision(6)));

function formatOhms(v: number): string {
  if (v >= 1e6) return `${num(v / 1e6)} MΩ`;
  if (v >= 1e3) return `${num(v / 1e3)} kΩ`;
  if (v >= 1) return `${num(v)} Ω`;
  return `${num(v * 1e3)} mΩ`;
}

function parseOhms(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(m|k|M)?Ω?$/.exec(text.trim());
  assert.ok(m, `not a resistance: "${text}"`);
  const scale: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6 };
  return Number(m[1]) * (m[2] ? scale[m[2]] : 1);
}

/** How the docs write the value of a constant, chosen by its name. */
function formatConstant(expr: string): string {
  if (expr in DERIVED) return DERIVED[expr];
  const [root, ...keys] = expr.split('.');
  let value: unknown = (hw as unknown as Record<string, unknown>)[root];
  assert.ok(value !== undefined, `${expr}: no export named ${root}`);
  for (const k of keys) {
    assert.ok(value !== null && typeof value === 'object' && k in value, `${expr}: no field ${k}`);
    value = (value as Record<string, unknown>)[k];
  }
  const key = keys.length > 0 ? keys[keys.length - 1] : root;
  if (typeof value === 'string') return value;
  assert.equal(typeof value, 'number', `${expr} is not a number or string`);
  const v = value as number;
  if (key === 'address') return `0x${v.toString(16)}`;
  if (key === 'ohms' || /^r[A-Z]/.test(key) || /Ohms$/.test(key)) return formatOhms(v);
  if (root === 'DEFAULT_THRESHOLDS' && /V$/.test(key)) return `${v.toFixed(3)} V`;
  if (key === 'potWiper') return v.toFixed(3);
  if (key === 'ratedMillivolts') return `${v} mV`;
  if (key === 'bitrateHz') return `${v / 1000} kHz`;
  if (key === 'ahEach') return `${v} Ah`;
  if (/A$/.test(key)) return `${num(v)} A`;
  if (/V$/.test(key) || /_V$/.test(key) || key === 'vcc') return `${num(v)} V`;
  return num(v);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** True when `needle` occurs in `text` as a whole number (so "4.7 kΩ" is not found in "14.7 kΩ"). */
function containsValue(text: string, needle: string): boolean {
  return new RegExp(`(?<![\\d.])${escapeRe(needle)}(?![\\d])`).test(text);
}

interface Table { header: string[]; rows: string[][] }

function tables(md: string): Table[] {
  const out: Table[] = [];
  let block: string[] = [];
  const cells = (line: string): string[] => line.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim());
  const flush = (): void => {
    if (block.length >= 2 && /^\|[\s:|-]+\|$/.test(block[1].trim())) {
      out.push({ header: cells(block[0]), rows: block.slice(2).map(cells) });
    }
    block = [];
  };
  for (const line of md.split('\n')) {
    if (line.trim().startsWith('|')) block.push(line); else flush();
  }
  flush();
  return out;
}

function codeBlocks(md: string): string {
  const parts = md.split('```');
  return parts.filter((_, i) => i % 2 === 1).join('\n');
}

interface Citation { doc: string; expr: string; row: string[]; header: string[] }

function citations(doc: string, md: string): Citation[] {
  const out: Citation[] = [];
  for (const t of tables(md)) {
    const src = t.header.indexOf('Source');
    if (src < 0) continue;
    for (const row of t.rows) {
      for (const m of row[src].matchAll(/`([^`]+)`/g)) out.push({ doc, expr: m[1], row, header: t.header });
    }
  }
  return out;
}

const all = [...citations('BOM.md', BOM), ...citations('WIRING.md', WIRING)];

/** Resistances by reference designator, from the BOM's Value column. */
function bomResistors(): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of tables(BOM)) {
    const ref = t.header.indexOf('Ref');
    const val = t.header.indexOf('Value');
    if (ref < 0 || val < 0) continue;
    for (const row of t.rows) {
      const refs = row[ref].split(',').map((r) => r.trim());
      if (!refs.every((r) => /^RV?\d+$/.test(r))) continue;
      for (const r of refs) {
        assert.ok(!out.has(r), `BOM lists ${r} twice`);
        out.set(r, parseOhms(row[val]));
      }
    }
  }
  return out;
}

describe('hardware docs: numbers quoted from the code', () => {
  it('both documents cite constants', () => {
    assert.ok(all.filter((c) => c.doc === 'BOM.md').length >= 40);
    assert.ok(all.filter((c) => c.doc === 'WIRING.md').length >= 30);
  });

  it('every cited constant exists and its value appears in the same table row', () => {
    for (const c of all) {
      const expected = formatConstant(c.expr);
      const src = c.header.indexOf('Source');
      const rest = c.row.filter((_, i) => i !== src).join(' | ');
      assert.ok(containsValue(rest, expected), `${c.doc}: row citing ${c.expr} should say "${expected}": | ${rest} |`);
    }
  });

  it('each BOM resistor row states exactly the value of the constant it cites', () => {
    let checked = 0;
    for (const c of all.filter((x) => x.doc === 'BOM.md')) {
      const ref = c.row[c.header.indexOf('Ref')];
      if (!/^RV?\d+/.test(ref)) continue;
      const src = c.row[c.header.indexOf('Source')];
      if (!src.startsWith(`\`${c.expr}\``)) continue; // only the first citation names the value
      assert.equal(c.row[c.header.indexOf('Value')], formatConstant(c.expr), `${ref} (${c.expr})`);
      checked++;
    }
    assert.ok(checked >= 20, `only ${checked} resistor rows checked`);
  });

  it('the BOM cites every resistor, the shunt and the addresses the code defines', () => {
    const cited = new Set(all.filter((c) => c.doc === 'BOM.md').map((c) => c.expr));
    const need: string[] = [
      'SOLAR_INPUT.rTop', 'SOLAR_INPUT.rBottom', 'I2C_BUS.pullupOhms',
      'SHUNT_50A_75MV.ohms', 'SHUNT_50A_75MV.ratedA', 'SHUNT_50A_75MV.ratedMillivolts',
      'INA219_CHANNELS.battery.address', 'INA219_CHANNELS.load.address',
      'REMOTE_DRIVER.transistor', 'REMOTE_DRIVER.supplyV',
      'COMPARATOR_BOARD.vcc', 'COMPARATOR_BOARD.rRefTop', 'COMPARATOR_BOARD.rRefBottom',
    ];
    for (const k of Object.keys(hw.REMOTE_DRIVER)) if (/^r[A-Z]/.test(k)) need.push(`REMOTE_DRIVER.${k}`);
    for (const ch of ['battery', 'sun'] as const) {
      for (const k of Object.keys(hw.COMPARATOR_BOARD[ch])) need.push(`COMPARATOR_BOARD.${ch}.${k}`);
    }
    const missing = need.filter((n) => !cited.has(n));
    assert.deepEqual(missing, [], `BOM.md does not cite: ${missing.join(', ')}`);
  });

  it('WIRING cites every pin, the trip points and the driver values', () => {
    const cited = new Set(all.filter((c) => c.doc === 'WIRING.md').map((c) => c.expr));
    const need: string[] = [
      'DEFAULT_THRESHOLDS.batteryOnV', 'DEFAULT_THRESHOLDS.batteryOffV',
      'DEFAULT_THRESHOLDS.sunDownV', 'DEFAULT_THRESHOLDS.sunUpV',
      'referenceVoltage(COMPARATOR_BOARD)', 'BATTERY_FLOOR_V',
      'INA219_CHANNELS.battery.address', 'INA219_CHANNELS.load.address',
    ];
    for (const k of Object.keys(hw.PINS)) need.push(`PINS.${k}`);
    for (const k of Object.keys(hw.REMOTE_DRIVER)) if (/^r[A-Z]/.test(k)) need.push(`REMOTE_DRIVER.${k}`);
    const missing = need.filter((n) => !cited.has(n));
    assert.deepEqual(missing, [], `WIRING.md does not cite: ${missing.join(', ')}`);
  });
});

describe('hardware docs: drawings and prose', () => {
  const resistors = bomResistors();
  const drawn = new Map<string, number[]>();
  for (const m of codeBlocks(WIRING).matchAll(/\b(RV?\d+) (\d+(?:\.\d+)?)(k|M)?(?![\w.])/g)) {
    const ohms = Number(m[2]) * (m[3] === 'k' ? 1e3 : m[3] === 'M' ? 1e6 : 1);
    drawn.set(m[1], [...(drawn.get(m[1]) ?? []), ohms]);
  }

  it('every resistor drawn in WIRING.md carries its BOM value', () => {
    assert.ok(drawn.size > 0);
    for (const [ref, values] of drawn) {
      assert.ok(resistors.has(ref), `${ref} is drawn but not in the BOM`);
      for (const v of values) assert.equal(v, resistors.get(ref), `${ref} drawn as ${v} Ω`);
    }
  });

  it('every BOM resistor appears in a WIRING.md drawing', () => {
    const undrawn = [...resistors.keys()].filter((r) => !drawn.has(r));
    assert.deepEqual(undrawn, [], `not drawn: ${undrawn.join(', ')}`);
  });

  it('every voltage quoted to three decimals is one the code computes', () => {
    const b = hw.COMPARATOR_BOARD;
    const t = hw.DEFAULT_THRESHOLDS;
    const computed = [
      t.batteryOnV, t.batteryOffV, t.sunDownV, t.sunUpV,
      // The typical hysteresis, in the tolerance table.
      t.batteryOffV - t.batteryOnV, t.sunUpV - t.sunDownV,
      hw.referenceVoltage(b),
      b.vcc - b.inputHeadroomV,
      hw.comparatorInputV(b, b.battery, hw.VOLTAGE_RANGES.battery.max, false),
      hw.comparatorInputV(b, b.sun, hw.VOLTAGE_RANGES.panel.max, false),
      // The sun input at the cold-morning maximum, quoted in WIRING's input-range reasoning.
      hw.comparatorInputV(b, b.sun, solar.maxPanelV, false),
      hw.comparatorTripPoints(b, { ...b.battery, potWiper: 0 }).fallingV,
      hw.comparatorTripPoints(b, { ...b.battery, potWiper: 1 }).fallingV,
      hw.comparatorTripPoints(b, { ...b.sun, potWiper: 0 }).fallingV,
      hw.comparatorTripPoints(b, { ...b.sun, potWiper: 1 }).fallingV,
      solar.maxPanelV / gain,
      hw.MCU_BOARD.adcReferenceV * gain,
    ];
    const allowed = new Set(computed.map((v) => v.toFixed(3)));
    let seen = 0;
    for (const [doc, md] of [['BOM.md', BOM], ['WIRING.md', WIRING]]) {
      for (const m of md.matchAll(/(?<![\d.])(\d+\.\d{3}) V\b/g)) {
        assert.ok(allowed.has(m[1]), `${doc} quotes ${m[1]} V, which the code does not compute`);
        seen++;
      }
    }
    assert.ok(seen >= 15, `only ${seen} three-decimal voltages found`);
  });

  it('the sweep maxima quoted for the LM393 inputs really are the maxima', () => {
    // The prose quotes IN+ at the top of each range with the output released; that is the
    // maximum only if IN+ rises with the input and the released state is the higher one.
    const b = hw.COMPARATOR_BOARD;
    for (const [ch, range] of [[b.battery, hw.VOLTAGE_RANGES.battery], [b.sun, hw.VOLTAGE_RANGES.panel]] as const) {
      const top = hw.comparatorInputV(b, ch, range.max, false);
      for (let v = range.min; v <= range.max; v += 0.5) {
        assert.ok(hw.comparatorInputV(b, ch, v, false) <= top + 1e-12);
        assert.ok(hw.comparatorInputV(b, ch, v, true) <= top + 1e-12);
      }
    }
  });

  it('WIRING gives the host-side commands for the TS-7670', () => {
    // The same socat export as hardware/TS-7670.md: one client (no fork), with keepalive.
    const ts7670 = fs.readFileSync(path.join(HW_DIR, 'TS-7670.md'), 'utf8');
    const socat = /<!-- socat-export -->\s*```sh\n(.*)\n```/.exec(ts7670)?.[1];
    assert.ok(socat && !/\bfork\b/.test(socat) && socat.includes('keepalive'), 'TS-7670.md socat-export block');
    assert.ok(WIRING.split('\n').includes(socat), 'WIRING.md shows the socat command of TS-7670.md');
    assert.ok(WIRING.includes('/dev/ttyACM0:115200'), 'ser2net line');
    assert.ok(containsValue(WIRING, String(hw.HOST_LINK.baud)));
  });
});
