/**
 * The core's small parts a feature relies on: derived values refuse what a sink could not
 * carry, and feature routes on the health server are matched exactly, by prefix, by
 * method, and never shadow /healthz or /metrics.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { Bridge, DerivedValues } from '../../bridge/src';
import type { FeatureDefinition, RouteHandler } from '../../bridge/src';
import { LineServer, makeTempDir, removeDir } from '../helpers/services';
import { LogCapture, configFrom } from './helpers/bridge-harness';

describe('bridge core', () => {
  it('derived values: snake_case keys declared once, set only when declared, read back, listeners told', () => {
    const d = new DerivedValues();
    assert.throws(() => d.declare('a', [{ key: 'Battery SoC', label: 'x' }]), /Battery SoC.*snake_case/);
    d.declare('battery', [{ key: 'battery_soc', label: 'State of charge', unit: '%' }, { key: 'night_ok', label: 'Lasts the night' }]);
    assert.throws(() => d.declare('nut', [{ key: 'battery_soc', label: 'again' }]), /already declared by battery/);
    const seen: Array<[number, object]> = [];
    const declared: number[] = [];
    const off = d.onChange((ts, v) => seen.push([ts, { ...v }]));
    d.onDeclare((specs) => declared.push(specs.length));
    assert.throws(() => d.set(1, { battery_soc: 50, oops: 1 }), /oops was never declared/);
    assert.equal(d.latest('battery_soc'), undefined, 'a refused set changes nothing');
    d.set(1000, { battery_soc: 78.5 });
    d.set(2000, { night_ok: true });
    assert.deepEqual(d.latest('battery_soc'), { ts: 1000, value: 78.5 });
    assert.deepEqual(d.snapshot(), { battery_soc: 78.5, night_ok: true });
    off();
    d.set(3000, { battery_soc: null });
    assert.deepEqual(seen, [[1000, { battery_soc: 78.5 }], [2000, { night_ok: true }]], 'unsubscribed listeners hear nothing');
    d.declare('web', [{ key: 'web_clients', label: 'Page viewers' }]);
    assert.deepEqual(declared, [3]);
    assert.deepEqual(d.specs().map((s) => s.key), ['battery_soc', 'night_ok', 'web_clients']);
  });

  describe('feature routes on the health server', () => {
    let mcu: LineServer;
    let dir: string;
    let bridge: Bridge | null = null;
    beforeEach(async () => { mcu = await LineServer.start(); dir = makeTempDir('bridge-core'); });
    afterEach(async () => { await bridge?.stop(); bridge = null; await mcu.close(); removeDir(dir); });

    it('exact beats prefix, the longest prefix wins, methods are enforced, the core\'s paths cannot be taken', async () => {
      const refused: string[] = [];
      const routes: FeatureDefinition = {
        name: 'routes',
        enabled: () => true,
        create(core) {
          const say = (text: string): RouteHandler => (_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }).end(text); };
          core.http.route({ path: '/', prefix: true }, say('root'));
          core.http.route({ path: '/api', prefix: true }, say('api'));
          core.http.route({ path: '/api/chart', prefix: true }, say('chart'));
          core.http.route({ path: '/api/chart/week' }, say('week'));
          core.http.route({ path: '/api/command', methods: ['POST'] }, say('posted'));
          core.http.route({ path: '/boom' }, () => { throw new Error('feature bug'); });
          for (const bad of [{ path: '/healthz' }, { path: '/metrics' }, { path: '/api' }, { path: 'api' }, { path: '/api/' }]) {
            try { core.http.route(bad, say('no')); } catch (e) { refused.push((e as Error).message); }
          }
          return { start: () => undefined, stop: () => undefined };
        },
      };
      bridge = new Bridge({
        config: configFrom({ 'source.url': mcu.url, 'http.listen': '127.0.0.1:0', 'spool.dir': path.join(dir, 'spool') }),
        log: new LogCapture().logger, version: 'test', features: [routes],
      });
      await bridge.start();
      const get = async (p: string, method = 'GET'): Promise<string> => {
        const r = await fetch(`http://127.0.0.1:${bridge!.healthPort()}${p}`, { method });
        return `${r.status} ${(await r.text()).trim().slice(0, 40)}`;
      };
      assert.equal(refused.length, 5, refused.join('\n'));
      assert.match(refused[0], /\/healthz is the bridge's own/);
      assert.match(refused[2], /\/api is already served/);
      assert.equal(await get('/'), '200 root');
      assert.equal(await get('/index.html'), '200 root');
      assert.equal(await get('/api'), '200 api');
      assert.equal(await get('/api/x'), '200 api');
      assert.equal(await get('/api/chart/day?x=1'), '200 chart');
      assert.equal(await get('/api/chart/week'), '200 week');
      assert.equal(await get('/api/chartx'), '200 api', 'a prefix matches whole path segments');
      assert.equal(await get('/api/command'), '405 method not allowed');
      assert.equal(await get('/api/command', 'POST'), '200 posted');
      assert.equal(await get('/boom'), '500 error: feature bug');
      assert.match(await get('/healthz'), /^(200|503) \{"healthy":/, 'the core still answers /healthz under a / prefix route');
      assert.match(await get('/metrics'), /^200 # HELP/);
    });
  });
});
