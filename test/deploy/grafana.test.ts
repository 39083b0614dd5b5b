/**
 * The Grafana dashboards (bridge/grafana/): the files are what the generator builds, the
 * voltage bands are hardware/'s, the Flux dashboard mirrors the InfluxQL one, the
 * provisioning files fit them, and every InfluxQL panel query, with Grafana's macros
 * expanded, returns what its panel draws from a simulated day that went through the real
 * bridge into a real InfluxDB 1.6. There is no Grafana and no InfluxDB 2 here: the Flux
 * queries are checked for structure only.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { BATTERY_FLOOR_V, DEFAULT_THRESHOLDS, SOLAR_CONTROLLER } from '../../hardware';
import { Bridge, REASONS } from '../../bridge/src';
import { DASHBOARD_FILES, DATASOURCE_NAMES, Flavor, dashboardText } from '../../bridge/grafana/dashboards';
import { Influxd1Service, InfluxSeries, makeTempDir, removeDir } from '../helpers/services';
import { metricValue, parseMetrics, repoRoot, startBridge } from '../bridge/helpers/bridge-harness';
import { GrafanaContext, expandInfluxQL, fluxRefs, influxqlRefs } from './helpers/grafana-macros';
import { SimulatedRun, dropReadings, simulate } from './helpers/grafana-sim-day';

type Obj = { [k: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

const grafanaDir = path.join(repoRoot, 'bridge', 'grafana');
const load = (flavor: Flavor): Obj => JSON.parse(fs.readFileSync(DASHBOARD_FILES[flavor], 'utf8'));
const panelByTitle = (d: Obj, title: string): Obj => {
  const p = (d.panels as Obj[]).find((x) => x.title === title);
  assert.ok(p, `panel "${title}" in ${d.uid}`);
  return p;
};
const mV = (v: number): number => Math.round(v * 1000) / 1000;

describe('Grafana dashboards (files)', () => {
  it('the JSON files are exactly what bridge/grafana/dashboards.ts builds (regenerate with node scripts/ts-run.js bridge/grafana/dashboards.ts)', () => {
    for (const flavor of ['influxql', 'flux'] as Flavor[]) {
      assert.equal(fs.readFileSync(DASHBOARD_FILES[flavor], 'utf8'), dashboardText(flavor), `${DASHBOARD_FILES[flavor]} is stale`);
    }
  });

  it('battery voltage bands are the MP3735 load disconnect, the forced-OFF floor and the charger ON/OFF thresholds from hardware/', () => {
    const expected = [SOLAR_CONTROLLER.loadDisconnectV, BATTERY_FLOOR_V, DEFAULT_THRESHOLDS.batteryOnV, DEFAULT_THRESHOLDS.batteryOffV].map(mV);
    for (const flavor of ['influxql', 'flux'] as Flavor[]) {
      const p = panelByTitle(load(flavor), 'Battery voltage');
      const steps = p.fieldConfig.defaults.thresholds.steps as Array<{ value: number | null; color: string }>;
      assert.equal(steps[0].value, null, 'the base step');
      assert.deepEqual(steps.slice(1).map((s) => s.value), expected);
      assert.equal(p.fieldConfig.defaults.custom.thresholdsStyle.mode, 'line+area', 'bands are drawn');
      // Each band is told apart by colour, and the description names each value.
      assert.equal(new Set(steps.map((s) => s.color)).size, steps.length);
      for (const v of expected) assert.ok(String(p.description).includes(`${v} V`), `description mentions ${v} V`);
    }
  });

  it('the Flux dashboard has the same panels and targets, reading the same measurements, fields and channels from the ${bucket} variable', () => {
    const ql = load('influxql');
    const fx = load('flux');
    assert.deepEqual(fx.panels.map((p: Obj) => [p.title, p.type, p.gridPos]), ql.panels.map((p: Obj) => [p.title, p.type, p.gridPos]));
    const bucket = fx.templating.list.find((v: Obj) => v.name === 'bucket');
    assert.ok(bucket && bucket.query, 'Flux dashboard has a bucket variable with a default');
    for (let i = 0; i < ql.panels.length; i++) {
      const qp = ql.panels[i];
      const fp = fx.panels[i];
      assert.deepEqual(fp.targets.map((t: Obj) => t.refId), qp.targets.map((t: Obj) => t.refId), qp.title);
      assert.deepEqual(fp.fieldConfig, qp.fieldConfig, `${qp.title}: same display`);
      for (let j = 0; j < qp.targets.length; j++) {
        const q = qp.targets[j].query as string;
        const f = fp.targets[j].query as string;
        const where = `${qp.title} ${qp.targets[j].refId}`;
        const refs = influxqlRefs(q);
        assert.ok(refs.measurements.length > 0 && refs.fields.length > 0, `${where}: InfluxQL reads something`);
        assert.deepEqual(fluxRefs(f), refs, `${where}: Flux reads the same as InfluxQL`);
        assert.ok(f.startsWith('from(bucket: "${bucket}")') || f.includes('= from(bucket: "${bucket}")'), `${where}: reads the bucket variable`);
        assert.ok(f.includes('range(start: v.timeRangeStart, stop: v.timeRangeStop)'), `${where}: honours the dashboard time range`);
        assert.ok(f.includes('r.device == "${device}"'), `${where}: filters by the device variable`);
        assert.ok(q.includes(`"device" = '$device'`), `${where}: InfluxQL filters by the device variable`);
        // The same series name in both, so the overrides and legends match.
        const name = /^SELECT .*? AS "([^"]+)"/.exec(q)?.[1];
        assert.ok(name && f.includes(`rename(columns: {_value: "${name}"})`), `${where}: Flux names its series "${name}"`);
        // Parentheses and braces balance: a cut or mangled query would not.
        for (const [open, close] of [['(', ')'], ['{', '}'], ['[', ']']]) {
          assert.equal(f.split(open).length, f.split(close).length, `${where}: ${open}${close} balance in Flux`);
          assert.equal(q.split(open).length, q.split(close).length, `${where}: ${open}${close} balance in InfluxQL`);
        }
      }
    }
  });

  it('every panel and query uses the ${ds} data source variable, which defaults to the provisioned data source', () => {
    const provisioned = new Map<string, Obj>();
    for (const f of fs.readdirSync(path.join(grafanaDir, 'provisioning', 'datasources'))) {
      const y = YAML.parse(fs.readFileSync(path.join(grafanaDir, 'provisioning', 'datasources', f), 'utf8'));
      assert.equal(y.apiVersion, 1, f);
      for (const ds of y.datasources) provisioned.set(ds.name, ds);
    }
    for (const flavor of ['influxql', 'flux'] as Flavor[]) {
      const d = load(flavor);
      const dsVar = d.templating.list.find((v: Obj) => v.name === 'ds');
      assert.equal(dsVar.type, 'datasource');
      assert.equal(dsVar.query, 'influxdb');
      assert.equal(dsVar.current.value, DATASOURCE_NAMES[flavor]);
      const ds = provisioned.get(dsVar.current.value);
      assert.ok(ds, `a provisioning file defines "${dsVar.current.value}"`);
      assert.equal(ds.type, 'influxdb');
      if (flavor === 'flux') {
        assert.equal(ds.jsonData.version, 'Flux');
        assert.ok(ds.jsonData.organization && ds.jsonData.defaultBucket && ds.secureJsonData.token, 'org, bucket and token');
      } else {
        assert.notEqual(ds.jsonData.version, 'Flux');
        assert.ok(ds.jsonData.dbName, 'database name');
      }
      for (const p of d.panels) {
        assert.deepEqual(p.datasource, { type: 'influxdb', uid: '${ds}' }, p.title);
        for (const t of p.targets) assert.deepEqual(t.datasource, { type: 'influxdb', uid: '${ds}' }, `${p.title} ${t.refId}`);
      }
    }
    const prov = YAML.parse(fs.readFileSync(path.join(grafanaDir, 'provisioning', 'dashboards', 'solar-cluster.yaml'), 'utf8'));
    assert.equal(prov.apiVersion, 1);
    assert.equal(prov.providers[0].type, 'file');
    assert.ok(path.isAbsolute(prov.providers[0].options.path), 'the provider reads an absolute directory');
    const readme = fs.readFileSync(path.join(grafanaDir, 'README.md'), 'utf8');
    assert.ok(readme.includes(prov.providers[0].options.path), 'README says where to copy the JSON files');
  });
});

describe('Grafana dashboard queries against InfluxDB 1.6, a simulated day through the real bridge', function () {
  this.timeout(120000);
  const DB = 'solar';
  const DEVICE = 'house-bank';
  const HOURS = 24;
  const GAP_FROM = 43200; // noon: 300 readings the link loses
  const GAP = 300;
  let influx: Influxd1Service;
  let dir: string;
  let run: SimulatedRun;
  let bridge: Bridge;
  let ctx: GrafanaContext;
  let metricsText = '';

  before(async () => {
    dir = makeTempDir('grafana-day');
    const started = Date.now();
    [influx, run] = await Promise.all([Influxd1Service.start(), Promise.resolve().then(() => simulate({ scenario: 'day', hours: HOURS }))]);
    await influx.createDatabase(DB);
    // The link loses a block of readings, and some console noise and a damaged line get in.
    const capture = '> \nnot a frame\n' + dropReadings(run.capture, GAP_FROM, GAP).replace('\n$R,v=1,seq=100,', '\n$R,v=1,seq=99x\n$R,v=1,seq=100,');
    const file = path.join(dir, 'day.log');
    fs.writeFileSync(file, capture);
    const r = await startBridge({ 'source.url': `file:${file}`, 'spool.dir': path.join(dir, 'spool'), 'influx.url': influx.url, 'influx.api': 'v1', 'influx.db': DB, device_id: DEVICE });
    bridge = r.bridge;
    await bridge.replayDone();
    metricsText = bridge.metrics.registry.render();
    await bridge.stop();
    // The bridge anchors the boot at its clock when it sees the first frame, so the day
    // starts now and runs into the future; the dashboard's time range is set to cover it.
    ctx = { fromMs: started - 60000, toMs: Date.now() + HOURS * 3600 * 1000 + 60000, interval: '1m', intervalMs: 60000, vars: { device: DEVICE, tz: 'Australia/Brisbane' } };
  });
  after(async () => {
    await influx?.dispose();
    if (dir) removeDir(dir);
  });

  /** The values of the one series a target returns, after checking its name and column. */
  function only(series: InfluxSeries[], query: string): unknown[] {
    assert.equal(series.length, 1, `one series from ${query}`);
    // The outermost SELECT's first alias: the series name the panel shows.
    const alias = /^SELECT .*? AS "([^"]+)"/.exec(query)?.[1];
    assert.deepEqual(series[0].columns, ['time', alias], 'the column the panel draws');
    const vals = series[0].values.map((v) => v[1]).filter((v) => v !== null);
    assert.ok(vals.length > 0, `non-null values from ${query}`);
    return vals;
  }

  const nums = (xs: unknown[]): number[] => xs.map((x) => { assert.equal(typeof x, 'number'); return x as number; });
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  const near = (got: number, want: number, rel: number, what: string): void =>
    assert.ok(Math.abs(got - want) <= rel * want, `${what}: ${got.toFixed(1)} vs ${want.toFixed(1)} (±${rel * 100} %)`);
  const minutes = HOURS * 60;

  /** What each panel draws, per target; a target without an entry here fails the test. */
  const checks: { [key: string]: (values: unknown[]) => void } = {
    'Battery voltage/A': (v) => {
      const xs = nums(v);
      assert.ok(xs.length >= minutes - GAP / 60 - 2 && xs.length <= minutes + 2, `one point a minute (${xs.length})`);
      for (const x of xs) assert.ok(x > 10 && x < 15, `battery voltage ${x} within 10-15 V`);
      assert.ok(Math.max(...xs) - Math.min(...xs) > 0.5, 'the voltage moves over a day');
    },
    'Battery current/A': (v) => {
      const xs = nums(v);
      assert.ok(xs.some((x) => x > 1), 'charging at times');
      assert.ok(xs.some((x) => x < -0.5), 'discharging at times');
      for (const x of xs) assert.ok(Math.abs(x) < 60, `battery current ${x} A`);
    },
    'Load and solar/A': (v) => {
      const xs = nums(v);
      for (const x of xs) assert.ok(x > 5 && x < 60, `load power ${x} W (the cluster draws about 24 W)`);
    },
    'Load and solar/B': (v) => {
      const xs = nums(v);
      assert.ok(Math.min(...xs) < 1, 'the panel is dark at night');
      assert.ok(Math.max(...xs) > 15, 'and well above the battery by day');
    },
    'Charger/A': (v) => {
      assert.deepEqual([...new Set(nums(v))].sort(), [0, 1], 'ON and OFF over a day');
    },
    'Charger/B': (v) => {
      for (const x of v) assert.ok(REASONS.includes(x as string), `reason ${String(x)}`);
      assert.ok(v.includes('sun_down') && v.includes('released'), 'sun down at night, released by day');
    },
    'Charger/C': (v) => assert.deepEqual([...new Set(v)], ['auto']),
    'Charger/D': (v) => {
      for (const x of nums(v)) assert.ok(Number.isInteger(x) && x >= 0 && x < 0x1000, `fault word ${x}`);
    },
    'Energy per day/A': (v) => near(sum(nums(v)), run.truth.solarWh, 0.1, 'solar Wh vs the plant'),
    'Energy per day/B': (v) => near(sum(nums(v)), run.truth.mainsWh, 0.1, 'mains Wh vs the plant'),
    'Energy per day/C': (v) => near(sum(nums(v)), run.truth.loadWh, 0.05, 'load Wh vs the plant'),
    'Bridge health (stored readings)/A': (v) => assert.equal(sum(nums(v)), run.readings - GAP, 'readings stored'),
    'Bridge health (stored readings)/B': (v) => assert.equal(sum(nums(v)), GAP, 'readings lost on the link'),
    'Bridge health (stored readings)/C': (v) => assert.equal(sum(nums(v)), 1, 'one MCU boot'),
    // The battery feature's derived values (on by default), written with the readings.
    'Battery state of charge/A': (v) => {
      const xs = nums(v);
      for (const x of xs) assert.ok(x >= 0 && x <= 100, `state of charge ${x} %`);
      assert.ok(xs.length > 0, 'a point per interval');
    },
    'Battery state of charge/B': (v) => { for (const x of nums(v)) assert.ok(x >= 0 && x <= 100, `uncertainty ${x} points`); },
    'Time to go and the night ahead/A': (v) => { for (const x of nums(v)) assert.ok(x > 0 && x < 30 * 86400, `runtime alone ${x} s`); },
    'Time to go and the night ahead/B': (v) => { for (const x of nums(v)) assert.ok(Math.abs(x) < 210, `night margin ${x} Ah`); },
    'Battery capacity and health/A': (v) => assert.deepEqual([...new Set(nums(v))], [210], 'the nameplate until a capacity is learned'),
    'Battery capacity and health/B': (v) => { for (const x of nums(v)) assert.ok(x >= 0 && x <= 100, `confidence ${x} %`); },
  };

  it('the device variable query lists the device the bridge wrote', async () => {
    const d = load('influxql');
    const q = d.templating.list.find((v: Obj) => v.name === 'device').query as string;
    const s = await influx.query(DB, q);
    assert.deepEqual(s[0].values.map((v) => v[1]), [DEVICE]);
  });

  it('every panel query, macros expanded, returns the series and values its panel draws', async () => {
    const d = load('influxql');
    const seen: string[] = [];
    for (const p of d.panels as Obj[]) {
      for (const t of p.targets as Obj[]) {
        const key = `${p.title}/${t.refId}`;
        seen.push(key);
        assert.ok(checks[key], `no check for ${key}: add one`);
        const q = expandInfluxQL(t.query, ctx);
        const values = only(await influx.query(DB, q), t.query);
        checks[key](values);
      }
    }
    assert.deepEqual(seen.sort(), Object.keys(checks).sort(), 'every check has its panel');
  });

  it('energy panels: sources add up to what the battery and load counters say, whatever the interval', async () => {
    // Solar + mains = battery in - battery out + load out - load in, counted by the MCU.
    const tf = expandInfluxQL('$timeFilter', ctx);
    const s = await influx.query(DB, `SELECT spread("energy_in") AS i, spread("energy_out") AS o FROM "power" WHERE "device" = '${DEVICE}' AND ${tf} GROUP BY "channel"`);
    const by = (c: string): number[] => s.find((x) => x.tags?.channel === c)!.values[0].slice(1) as number[];
    const [bi, bo] = by('battery');
    const [li, lo] = by('load');
    const energy = load('influxql').panels.find((p: Obj) => p.title === 'Energy per day');
    const total = async (refId: string, interval: string): Promise<number> => {
      const q = energy.targets.find((t: Obj) => t.refId === refId).query as string;
      const series = await influx.query(DB, expandInfluxQL(q, { ...ctx, interval }));
      return sum(nums(series[0].values.map((v) => v[1]).filter((x) => x !== null)));
    };
    const sources = (await total('A', '1m')) + (await total('B', '1m'));
    near(sources, bi - bo + lo - li, 0.01, 'solar + mains vs the counters');
    // The daily panels do not use $__interval: a wider one changes nothing.
    assert.equal(await total('C', '10m'), await total('C', '1m'));
  });

  it('the bridge metrics the README tells Prometheus to scrape exist, and count the damaged lines and the gap', () => {
    const readme = fs.readFileSync(path.join(grafanaDir, 'README.md'), 'utf8');
    const names = [...new Set([...readme.matchAll(/\b(solar_bridge_[a-z_]+)/g)].map((m) => m[1]))];
    assert.ok(names.length >= 5, 'the README names the health metrics');
    // Declared (# TYPE): a counter with labels has no sample until something is counted.
    const present = new Set([...metricsText.matchAll(/^# TYPE (\w+) /gm)].map((m) => m[1]));
    for (const n of names) assert.ok(present.has(n), `${n} is on /metrics`);
    const m = parseMetrics(metricsText);
    assert.equal(metricValue(m, 'solar_bridge_frames_missing_total'), GAP);
    // Blank lines and lines without a frame are console noise; only the cut frame is damage.
    let damaged = 0;
    for (const [k, v] of m) if (k.startsWith('solar_bridge_lines_rejected_total{') && !k.includes('"noise"') && !k.includes('"empty"')) damaged += v;
    assert.equal(damaged, 1, `the damaged line was rejected: ${metricsText.split('\n').filter((l) => l.startsWith('solar_bridge_lines_rejected')).join('; ')}`);
  });
});
