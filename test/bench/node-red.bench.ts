/**
 * The bridge's running cost at the MCU's real line rate against a bare Node-RED flow
 * (issue 16), both fed the same paced line stream from one loopback TCP server in the same
 * run: the bridge as the systemd unit runs it (its --build bundle, the service node flags,
 * default configuration: spool + MQTT + InfluxDB v1, web page, battery estimate), Node-RED
 * as `tcp in` -> `mqtt out` QoS 1 (node-red-flow.ts). Phases: 1 reading/s, 50 readings/s
 * (the 115200-baud ceiling), idle with the source connected but silent (the MCU off, the
 * serial export up), and idle with no source at all (the line server closed, so both keep
 * retrying a refused connection: the case the issue's first table measured). Per phase: CPU seconds
 * per hour (/proc/PID/stat utime+stime, children included), wake-ups per second (context
 * switches summed over every thread), resident memory. Both deliveries are counted on a
 * real subscriber, and the bridge's readings in InfluxDB, so neither side is taken on trust.
 *
 * Goal: the bridge <= 1.0x Node-RED's CPU at 1/s and idle, <= 1 wake-up/s idle, RSS <= 60 MB.
 * The machine is shared: compare the ratios of one run, not absolute figures across runs.
 * NODE_RED_BENCH_SCALE=0.25 shortens every phase (for a quick look; quote full runs).
 */
import path from 'node:path';
import mqtt from 'mqtt';
import { Influxd1Service, LineServer, ManagedProcess, MosquittoService, makeTempDir, removeDir, sleep, waitFor } from '../helpers/services';
import { BridgeProcess, repoRoot } from '../bridge/helpers/bridge-harness';
import { readingLine } from '../bridge/helpers/frames';
import { SERVICE_ENV, SERVICE_NODE_FLAGS } from '../../bridge/src';
import type { BenchRow } from './bench-row';
import { NODE_RED_VERSION, startNodeRed } from './node-red-flow';
import { ProcUsage, procUsage } from './proc-usage';
import { buildBundle } from './bridge-bundle';

const SCALE = Number(process.env.NODE_RED_BENCH_SCALE ?? 1);
const PHASES: ReadonlyArray<{ name: string; seconds: number; rate: number; sourceGone?: boolean }> = [
  { name: '1 reading/s', seconds: Math.round(120 * SCALE), rate: 1 },
  { name: '50 readings/s', seconds: Math.round(60 * SCALE), rate: 50 },
  { name: 'idle (source silent)', seconds: Math.round(120 * SCALE), rate: 0 },
  // Last: the server does not come back.
  { name: 'idle (no source)', seconds: Math.round(120 * SCALE), rate: 0, sourceGone: true },
];
const DEVICE = 'bench';
const BRIDGE_READINGS = `solar/${DEVICE}/readings`;
const NODE_RED_TOPIC = 'bench/node-red/line';

interface PhaseCost { cpuSh: number; schedSh: number; wakeups: number; rssMb: number; peakMb: number }

/** Counts what each side delivered, on the broker, as a subscriber sees it. */
class DeliveryCounter {
  readonly bridgeSeqs = new Set<number>();
  readonly nodeRedLines = new Set<string>();
  private constructor(readonly client: mqtt.MqttClient) {
    client.on('message', (topic, payload) => {
      if (topic === NODE_RED_TOPIC) this.nodeRedLines.add(payload.toString('latin1'));
      else if (topic === BRIDGE_READINGS) for (const r of JSON.parse(payload.toString('utf8')) as Array<{ frame: { seq: number } }>) this.bridgeSeqs.add(r.frame.seq);
    });
  }

  static async connect(url: string): Promise<DeliveryCounter> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 200 });
    await client.subscribeAsync([BRIDGE_READINGS, NODE_RED_TOPIC], { qos: 1 });
    return new DeliveryCounter(client);
  }
}

/** Samples both processes once a second: resident memory is what varies inside a phase. */
async function runPhase(pids: number[], seconds: number, tick: (elapsedMs: number) => Promise<void> | void): Promise<PhaseCost[]> {
  const before = pids.map(procUsage);
  const rss: number[][] = pids.map(() => []);
  const t0 = Date.now();
  let nextSample = t0;
  await tick(0);
  for (;;) {
    const now = Date.now();
    if (now >= nextSample) {
      pids.forEach((p, i) => rss[i].push(procUsage(p).rssMb));
      nextSample += 1000;
    }
    if (now - t0 >= seconds * 1000) break;
    await tick(now - t0);
    await sleep(Math.max(1, Math.min(nextSample, t0 + seconds * 1000) - Date.now()));
  }
  const elapsed = (Date.now() - t0) / 1000;
  const after = pids.map(procUsage);
  return pids.map((_p, i) => cost(before[i], after[i], elapsed, rss[i]));
}

function cost(a: ProcUsage, b: ProcUsage, seconds: number, rss: number[]): PhaseCost {
  const sorted = [...rss].sort((x, y) => x - y);
  return {
    cpuSh: ((b.cpuSeconds - a.cpuSeconds) / seconds) * 3600,
    schedSh: ((b.schedSeconds - a.schedSeconds) / seconds) * 3600,
    wakeups: (b.switches - a.switches) / seconds,
    rssMb: sorted[Math.floor(sorted.length / 2)] ?? b.rssMb,
    peakMb: Math.max(...rss, b.rssMb),
  };
}

const ratio = (x: number, y: number): string => (y > 0 ? `${(x / y).toFixed(2)}×` : '∞');

export async function run(): Promise<BenchRow[]> {
  const dir = makeTempDir('node-red-bench');
  const [broker, influx, mcu] = await Promise.all([MosquittoService.start(), Influxd1Service.start(), LineServer.start()]);
  let bridge: BridgeProcess | null = null;
  let red: ManagedProcess | null = null;
  let counter: DeliveryCounter | null = null;
  try {
    await influx.createDatabase('bench');
    const bundle = buildBundle();
    counter = await DeliveryCounter.connect(broker.url);
    bridge = await BridgeProcess.create(
      ['--source', mcu.url, '--spool', path.join(dir, 'spool'), '--device-id', DEVICE, '--log-level', 'warn',
        '--mqtt', broker.url, '--influx-url', influx.url, '--influx-api', 'v1', '--influx-db', 'bench'],
      path.join(dir, 'bridge.log'), { ...SERVICE_ENV }, { kind: 'bundle', file: bundle, nodeFlags: [...SERVICE_NODE_FLAGS] });
    await bridge.start();
    red = await startNodeRed(path.join(dir, 'node-red'), { sourcePort: mcu.port, brokerPort: broker.port, topic: NODE_RED_TOPIC }, path.join(dir, 'node-red.log'));
    await waitFor(() => mcu.clientCount === 2, { timeoutMs: 30000, what: 'the bridge and Node-RED to connect to the line server' });
    const pids = [bridge.proc!.pid!, red.pid!];

    let seq = 0;
    const sendOne = (): Promise<void> => mcu.send(readingLine(++seq, 11) + '\n');
    const delivered = async (what: string): Promise<void> => {
      const c = counter!;
      await waitFor(() => c.bridgeSeqs.size >= seq && c.nodeRedLines.size >= seq, {
        timeoutMs: 30000, what: `${what}: both to deliver all ${seq} readings`,
        detail: () => `bridge ${c.bridgeSeqs.size}, node-red ${c.nodeRedLines.size} of ${seq}`,
      });
    };
    // Warm up: connections settled, discovery published, JIT past the first readings.
    for (let i = 0; i < 10; i++) { await sendOne(); await sleep(1000); }
    await delivered('warm-up');

    const results: Array<{ name: string; sent: number; bridge: PhaseCost; red: PhaseCost }> = [];
    for (const phase of PHASES) {
      if (phase.sourceGone) await mcu.close();
      const first = seq;
      let sent = 0;
      const [b, r] = await runPhase(pids, phase.seconds, async (elapsedMs) => {
        // Each line on its own, as a serial link delivers them, on schedule (catching up if late).
        while (phase.rate > 0 && sent < Math.floor((elapsedMs / 1000) * phase.rate) + 1 && sent < phase.seconds * phase.rate) { await sendOne(); sent++; }
      });
      if (sent > 0) await delivered(phase.name);
      results.push({ name: phase.name, sent: seq - first, bridge: b, red: r });
      await sleep(3000); // the tail of the phase (GC, acks) stays out of the next one
    }

    // The bridge's readings in InfluxDB: one charger point per reading.
    const series = await influx.query('bench', `SELECT count("seq") FROM "charger" WHERE "device" = '${DEVICE}'`);
    const points = series.reduce((n, s) => n + s.values.reduce((m, v) => m + Number(v[1]), 0), 0);
    const peakB = Math.max(...results.map((x) => x.bridge.peakMb));
    const peakR = Math.max(...results.map((x) => x.red.peakMb));

    console.log(`bridge: ${path.relative(repoRoot, bundle)} with ${Object.entries(SERVICE_ENV).map(([k, v]) => `${k}=${v} `).join('')}node ${SERVICE_NODE_FLAGS.join(' ')}, default configuration, spool + MQTT + InfluxDB v1; Node-RED ${NODE_RED_VERSION}: tcp in -> mqtt out (QoS 1)`);
    console.log('| phase | readings | CPU-s/h bridge | CPU-s/h Node-RED | ratio | wake-ups/s bridge | wake-ups/s Node-RED | RSS MB bridge (peak) | RSS MB Node-RED (peak) |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const x of results) {
      console.log(`| ${x.name}, ${PHASES.find((p) => p.name === x.name)!.seconds} s | ${x.sent} | ${x.bridge.cpuSh.toFixed(2)} (sched ${x.bridge.schedSh.toFixed(2)}) | ${x.red.cpuSh.toFixed(2)} (sched ${x.red.schedSh.toFixed(2)}) | ${ratio(x.bridge.schedSh, x.red.schedSh)} | ${x.bridge.wakeups.toFixed(2)} | ${x.red.wakeups.toFixed(2)} | ${x.bridge.rssMb.toFixed(1)} (${x.bridge.peakMb.toFixed(1)}) | ${x.red.rssMb.toFixed(1)} (${x.red.peakMb.toFixed(1)}) |`);
    }
    console.log(`delivered on MQTT: bridge ${counter.bridgeSeqs.size} distinct readings, Node-RED ${counter.nodeRedLines.size} distinct lines, of ${seq} sent; InfluxDB holds ${points} of the bridge's readings`);
    console.log('CPU-s/h: utime+stime ticks (10 ms); "sched": the same from schedstat (ns), used for the ratio since idle spends only a few ticks');
    const [one, fifty, idle, gone] = results;
    return [
      { what: 'bridge CPU at 1 reading/s, ratio to Node-RED tcp in -> mqtt out (same stream, same run)', value: `${ratio(one.bridge.schedSh, one.red.schedSh)} (${one.bridge.schedSh.toFixed(1)} vs ${one.red.schedSh.toFixed(1)} CPU-s/h)`, goal: '≤ 1.0×', met: one.bridge.schedSh <= one.red.schedSh },
      { what: 'bridge CPU at 50 readings/s, ratio to Node-RED', value: `${ratio(fifty.bridge.schedSh, fifty.red.schedSh)} (${fifty.bridge.schedSh.toFixed(1)} vs ${fifty.red.schedSh.toFixed(1)} CPU-s/h)`, goal: '', met: null },
      { what: 'bridge CPU idle (source silent), ratio to Node-RED', value: `${ratio(idle.bridge.schedSh, idle.red.schedSh)} (${idle.bridge.schedSh.toFixed(2)} vs ${idle.red.schedSh.toFixed(2)} CPU-s/h)`, goal: '≤ 1.0×', met: idle.bridge.schedSh <= idle.red.schedSh },
      { what: 'bridge CPU idle (no source: connection refused), ratio to Node-RED', value: `${ratio(gone.bridge.schedSh, gone.red.schedSh)} (${gone.bridge.schedSh.toFixed(2)} vs ${gone.red.schedSh.toFixed(2)} CPU-s/h)`, goal: '≤ 1.0×', met: gone.bridge.schedSh <= gone.red.schedSh },
      { what: 'bridge wake-ups/s idle (context switches, every thread), source silent', value: `${idle.bridge.wakeups.toFixed(2)}/s (Node-RED ${idle.red.wakeups.toFixed(2)}/s)`, goal: '≤ 1/s', met: idle.bridge.wakeups <= 1 },
      { what: 'bridge wake-ups/s idle, no source', value: `${gone.bridge.wakeups.toFixed(2)}/s (Node-RED ${gone.red.wakeups.toFixed(2)}/s)`, goal: '≤ 1/s', met: gone.bridge.wakeups <= 1 },
      { what: 'bridge peak RSS over the phases', value: `${peakB.toFixed(1)} MB (Node-RED ${peakR.toFixed(1)} MB)`, goal: '≤ 60 MB', met: peakB <= 60 },
      { what: 'every reading delivered (bridge: MQTT readings topic and InfluxDB; Node-RED: MQTT)', value: `${counter.bridgeSeqs.size} / ${points} / ${counter.nodeRedLines.size} of ${seq}`, goal: 'all', met: counter.bridgeSeqs.size === seq && points === seq && counter.nodeRedLines.size === seq },
    ];
  } finally {
    await counter?.client.endAsync(true).catch(() => undefined);
    await bridge?.stop();
    await red?.stop(10000);
    await mcu.close();
    await broker.dispose();
    await influx.dispose();
    removeDir(dir);
  }
}
