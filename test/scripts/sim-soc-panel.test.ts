/**
 * npm run sim attaches the bridge's battery estimator (scripts/sim-estimator.ts), so
 * readings.csv carries estimated_soc beside true_soc and chart.svg has a state-of-charge
 * panel with both. A run without an estimator draws the truth alone and says so.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { outputPaths, writeOutputs } from '../../simulator/outputs';
import { Simulation } from '../../simulator/simulation';
import { firmwareBundle, firmwareBundlePath } from '../simulator/bundle';

const root = path.join(__dirname, '..', '..');

/** The `d` of the chart's path for one series, or null when it is not drawn. */
function seriesPath(svg: string, name: string): string | null {
  const m = new RegExp(`<path d="([^"]+)" data-series="${name}"`).exec(svg);
  return m ? m[1] : null;
}

function csvColumns(file: string): { header: string[]; rows: string[][] } {
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  return { header: lines[0].split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}

describe('npm run sim: state of charge, estimated against the truth', function () {
  this.timeout(300000);

  it('writes estimated_soc for every reading and draws it beside the true state of charge; the estimate starts wrong (full) and meets the truth at the first full sync', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-soc-'));
    const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'ts-run.js'), path.join(root, 'scripts', 'sim.ts'),
      '--scenario', 'day', '--hours', '10', '--seed', '3', '--out', out, '--firmware', firmwareBundlePath(), '--quiet'],
    { cwd: root, encoding: 'utf8', timeout: 280000 });
    assert.equal(r.status, 0, r.stderr);
    const { header, rows } = csvColumns(outputPaths(out).csv);
    const est = header.indexOf('estimated_soc');
    const truth = header.indexOf('true_soc');
    assert.ok(est >= 0 && truth >= 0, header.join(','));
    assert.ok(rows.length > 30000);
    const errors = rows.map((row) => {
      const e = Number(row[est]);
      assert.ok(row[est] !== '' && e >= 0 && e <= 1, `estimated_soc ${row[est]}`);
      return Math.abs(e - Number(row[truth]));
    });
    // The day starts at midnight with the bank at 80 %; the mains charger fills it and the
    // first full sync comes after ≈ 9 h (seed 3).
    assert.ok(errors[0] > 0.15, `starts believing the bank full (off by ${errors[0]})`);
    const last = errors[errors.length - 1];
    assert.ok(last < 0.03, `ends within 3 points of the truth after the first full sync (off by ${last})`);

    const svg = fs.readFileSync(outputPaths(out).chart, 'utf8');
    assert.ok(svg.includes('state of charge (%)'));
    assert.ok(svg.includes('estimated (the bridge') && svg.includes('true state of charge'));
    const truePath = seriesPath(svg, 'soc');
    const estPath = seriesPath(svg, 'estSoc');
    assert.ok(truePath && estPath, 'both series are drawn');
    assert.notEqual(truePath, estPath);
  });

  it('a run with no estimator attached draws the true state of charge alone and leaves estimated_soc empty', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-soc-'));
    const sim = new Simulation({ scenario: 'day', seed: 2, hours: 0.05, firmware: firmwareBundle(), csvPath: outputPaths(dir).csv });
    sim.run();
    writeOutputs(sim, dir);
    const { header, rows } = csvColumns(outputPaths(dir).csv);
    const est = header.indexOf('estimated_soc');
    assert.ok(est >= 0);
    assert.ok(rows.length > 100 && rows.every((row) => row[est] === ''));
    const svg = fs.readFileSync(outputPaths(dir).chart, 'utf8');
    assert.ok(seriesPath(svg, 'soc'));
    assert.equal(seriesPath(svg, 'estSoc'), null);
    assert.ok(svg.includes('no estimator attached'));
  });
});
