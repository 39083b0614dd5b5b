/**
 * npm start: the whole system on the simulator, in one process. The firmware bundle runs
 * on a simulated MCU wired to the simulated plant; its serial port is a local TCP port;
 * the bridge reads that port like a ser2net export of the real one and publishes to an
 * MQTT broker (embedded aedes unless --mqtt) and, when configured, InfluxDB. The status
 * shown is what arrives over MQTT plus the bridge's own counters. `npm start -- --help`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { Bridge, brokerCredentials, createLogger, preflightConfig, resolveConfig, topicsFor } from '../bridge/src';
import type { BridgeConfig, StateJson } from '../bridge/src';
import { SerialEndpoint, startTcpEndpoint } from '../simulator/endpoints';
import { ensureDefaultBundle } from '../simulator/firmware-bundle';
import { runPaced } from '../simulator/runner';
import { SCENARIOS } from '../simulator/scenarios';
import { Simulation } from '../simulator/simulation';
import { ClosableOutput } from './start/closable-output';
import { EmbeddedBroker, startEmbeddedBroker } from './start/embedded-broker';
import { StartOptions, parseStartArgs, startUsage } from './start/start-options';
import { EnergyToday, StatusSnapshot, renderStatus } from './start/status-view';

const WARNINGS_SHOWN = 3;

function version(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** "YYYY-MM-DD HH:MM:SS" at the site, `s` simulated seconds after the start. */
function siteTime(date: string, startHour: number, s: number): string {
  const t = new Date(Date.parse(date + 'T00:00:00Z') + (startHour * 3600 + s) * 1000);
  return t.toISOString().slice(0, 19).replace('T', ' ');
}

/** The bridge's log goes to a file (it would tear the status apart) and its warnings to the status. */
function logToFile(file: string, warnings: string[]): { write(line: string): void; close(): void } {
  const fd = fs.openSync(file, 'a');
  return {
    write(line: string): void {
      fs.writeSync(fd, line);
      const m = / (WARN|ERROR) +(.*)$/.exec(line.trimEnd());
      if (m) {
        warnings.push(m[2].length > 110 ? m[2].slice(0, 107) + '...' : m[2]);
        if (warnings.length > WARNINGS_SHOWN) warnings.shift();
      }
    },
    close: () => fs.closeSync(fd),
  };
}

function mosquittoArgs(url: string, c: BridgeConfig): string {
  const u = new URL(url);
  const tls = u.protocol === 'mqtts:' || u.protocol === 'ssl:';
  let s = `-h ${u.hostname} -p ${u.port || (tls ? 8883 : 1883)}`;
  if (c.mqtt.username) s += ` -u ${c.mqtt.username} -P '…'`;
  if (c.mqtt.tls.ca) s += ` --cafile ${c.mqtt.tls.ca}`;
  return s;
}

/** Watches the state topic and the derived values (the battery's) as any subscriber would. */
function watchState(c: BridgeConfig, onState: (s: StateJson) => void, onDerived: (key: string, text: string) => void): mqtt.MqttClient {
  const client = mqtt.connect(c.mqtt.url, {
    clientId: `npm-start-status-${process.pid}`, reconnectPeriod: 1000, connectTimeout: 5000, writeCache: false, ...brokerCredentials(c.mqtt),
  });
  const topics = topicsFor(c.mqtt.base_topic);
  const topic = topics.state;
  const derivedPrefix = topics.derived('');
  client.on('connect', () => client.subscribe([topic, derivedPrefix + '+'], { qos: 0 }));
  client.on('error', () => undefined); // the bridge's own sink reports broker trouble
  client.on('message', (t, payload) => {
    if (t.startsWith(derivedPrefix)) {
      onDerived(t.slice(derivedPrefix.length), payload.toString('utf8'));
      return;
    }
    try {
      onState(JSON.parse(payload.toString('utf8')) as StateJson);
    } catch {
      // Not ours to judge: the state topic is the bridge's, and it only writes JSON.
    }
  });
  return client;
}

/** Draws the status block in place on a terminal, or prints it now and then to a pipe or file. */
class StatusBoard {
  private drawn = 0;
  private lastPrinted = 0;
  constructor(private readonly out: ClosableOutput, private readonly tty: boolean, private readonly pipeEveryMs: number) {}
  draw(lines: string[]): void {
    if (this.tty) {
      const width = Math.max(40, (process.stdout.columns ?? 100) - 1);
      const text = lines.map((l) => (l.length > width ? l.slice(0, width) : l)).join('\n');
      this.out.write((this.drawn > 0 ? `\x1b[${this.drawn}F\x1b[J` : '') + text + '\n');
      this.drawn = lines.length;
      return;
    }
    const now = performance.now();
    if (this.lastPrinted !== 0 && now - this.lastPrinted < this.pipeEveryMs) return;
    this.lastPrinted = now;
    this.out.write(lines.join('\n') + '\n\n');
  }
}

/**
 * stdout, and stderr for what must still be said once stdout is gone (the summary). Errors
 * on stderr are heard too: with both gone there is no one to tell, and the stop goes on.
 */
const stdout = new ClosableOutput(process.stdout);
const stderr = new ClosableOutput(process.stderr);

async function run(o: StartOptions): Promise<number> {
  const say = (m: string): void => stdout.write(m + '\n');
  /** What the person must see even when stdout was closed under us (`| head`). */
  const tell = (m: string): void => (stdout.closed ? stderr : stdout).write(m + '\n');
  const bundle = ensureDefaultBundle((m) => say(`firmware: ${m}`));
  const scenario = { ...SCENARIOS[o.scenario], startHour: o.startHour };
  let endpoint: SerialEndpoint | null = null;
  const sim = new Simulation({
    scenario, seed: o.seed, hours: o.hours,
    firmware: { code: fs.readFileSync(bundle, 'utf8'), filename: path.basename(bundle) },
    onSerial: (d) => endpoint?.write(d),
  });
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'solar-start-'));
  const warnings: string[] = [];
  const logOut = logToFile(path.join(runDir, 'bridge.log'), warnings);
  let broker: EmbeddedBroker | null = null;
  let bridge: Bridge | null = null;
  let watcher: mqtt.MqttClient | null = null;
  let stopRequested = false;
  let firstSignalAt = 0;
  const onSignal = (): void => {
    // One Ctrl-C arrives twice under npm: from the terminal and forwarded by npm.
    const now = performance.now();
    if (!stopRequested) {
      stopRequested = true;
      firstSignalAt = now;
    } else if (now - firstSignalAt > 1000) {
      stderr.write('\nsecond interrupt: exiting without a clean stop\n');
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Nobody reads the status any more: stop as after Ctrl-C (bridge and simulator stopped,
  // spool flushed, temporary directory removed) and exit 0, the summary on stderr.
  stdout.onClose(() => { stopRequested = true; });
  try {
    endpoint = await startTcpEndpoint('127.0.0.1', 0, (d) => sim.hostInput(d));
    if (!o.mqttUrl) broker = await startEmbeddedBroker(o.brokerHost, o.brokerPort);
    const mqttUrl = o.mqttUrl ?? broker!.url;
    const resolved = resolveConfig({
      env: process.env,
      flags: [
        { key: 'source.url', value: endpoint.address, flag: '(npm start)' },
        { key: 'mqtt.url', value: mqttUrl, flag: o.mqttUrl ? '--mqtt' : '(npm start)' },
        { key: 'spool.dir', value: o.spoolDir ?? path.join(runDir, 'spool'), flag: o.spoolDir ? '--spool' : '(npm start)' },
        { key: 'device_id', value: o.deviceId, flag: '--device-id' },
        { key: 'http.listen', value: o.http, flag: '--http' },
        ...o.bridgeFlags,
      ],
    });
    if (!resolved.ok) {
      stderr.write(`npm start: invalid bridge configuration:\n${resolved.errors.map((e) => `  - ${e}`).join('\n')}\n`);
      return 2;
    }
    const problems = await preflightConfig(resolved.config, resolved.where, process.env);
    if (problems.length > 0) {
      stderr.write(`npm start: the bridge configuration cannot work on this host:\n${problems.map((e) => `  - ${e}`).join('\n')}\n`);
      return 2;
    }
    const config = resolved.config;
    bridge = new Bridge({ config, log: createLogger(config.log.level, 'text', logOut), version: version() });
    await bridge.start();

    const topics = topicsFor(config.mqtt.base_topic);
    const sub = mosquittoArgs(mqttUrl, config);
    const httpPort = bridge.healthPort();
    say(`solar-cluster-power ${version()}: the whole system on the simulator. Ctrl-C stops it.`);
    say(`  simulated MCU     firmware ${path.relative(process.cwd(), bundle)}, serial port ${endpoint.address}`);
    say(`  scenario          ${o.scenario}, seed ${o.seed}, from ${siteTime(scenario.date, o.startHour, 0)} site time, ${o.speed}× real time`);
    say(`  MQTT broker       ${mqttUrl}${broker ? ' (embedded)' : ''}`);
    say(`  topics            ${topics.state} (JSON, retained), ${topics.base}/# (everything)`);
    say(`  watch it          mosquitto_sub ${sub} -t '${topics.base}/#' -v`);
    say(`  send a command    mosquitto_pub ${sub} -t ${topics.command} -m '{"cmd":"status","request_id":"1"}'`);
    say(`                    (replies on ${topics.commandReply})`);
    if (config.influx.url) say(`  InfluxDB          ${config.influx.url} (api ${config.influx.api})`);
    if (httpPort && config.web.enabled) say(`  web page          http://127.0.0.1:${httpPort}/`);
    if (httpPort) say(`  health, metrics   http://127.0.0.1:${httpPort}/healthz and /metrics`);
    say(`  bridge log        ${path.join(runDir, 'bridge.log')}`);
    say('');

    let state: StateJson | null = null;
    let stateAt = 0;
    const energy = new EnergyToday();
    const derived: { [key: string]: string } = {};
    watcher = watchState(config, (s) => {
      state = s;
      stateAt = performance.now();
      const day = Math.floor((o.startHour * 3600 + sim.clock.now) / 86400);
      const b = s.battery;
      const l = s.load;
      if (typeof b.energy_in === 'number' && typeof b.energy_out === 'number' && typeof l.energy_out === 'number') {
        energy.update(day, { batteryInWh: b.energy_in, batteryOutWh: b.energy_out, loadWh: l.energy_out });
      }
    }, (key, text) => { derived[key] = text; });
    const m = bridge.metrics;
    const running = bridge;
    const snapshot = (): StatusSnapshot => {
      const h = running.health();
      return {
        siteTime: siteTime(scenario.date, o.startHour, sim.clock.now),
        speed: o.speed,
        state,
        stateAgeS: (performance.now() - stateAt) / 1000,
        energyToday: energy.totals(),
        derived,
        bridge: {
          sourceUp: h.source.up,
          framesIn: m.framesIn.get({ type: 'R' }),
          linesRejected: m.linesRejected.total(),
          missing: m.framesMissing.get(),
          mcuReboots: m.mcuReboots.total(),
          spoolBytes: h.spool?.bytes ?? 0,
          sinks: Object.entries(h.sinks).map(([name, v]) => ({ name, connected: v.connected, pendingRecords: v.pending_records })),
        },
        warnings: [...warnings],
      };
    };
    const board = new StatusBoard(stdout, process.stdout.isTTY === true, 10000);
    const timer = setInterval(() => board.draw(renderStatus(snapshot())), o.refreshMs);
    try {
      await runPaced(sim, { speed: o.speed, stop: () => stopRequested });
    } finally {
      clearInterval(timer);
    }
    board.draw(renderStatus(snapshot()));
    if (stdout.closed) tell(`npm start: its output was closed (${stdout.closed}); stopping…`);
    else say(stopRequested ? '\nstopping…' : '\nthe simulated run reached its end (--hours); stopping…');
    await bridge.stop();
    const st = bridge.health();
    const pending = Object.entries(st.sinks).map(([k, v]) => `${v.pending_records} pending for ${k}`).join(', ');
    tell(`stopped cleanly: ${sim.frames.R} readings emitted, ${m.framesIn.get({ type: 'R' })} received by the bridge; spool flushed${pending ? ` (${pending}${o.spoolDir ? ', kept in ' + o.spoolDir : ''})` : ''}.`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await bridge?.stop().catch(() => undefined);
    watcher?.end(true);
    await broker?.close();
    await endpoint?.close();
    sim.finish();
    logOut.close();
    if (warnings.length === 0) fs.rmSync(runDir, { recursive: true, force: true });
    else tell(`the bridge logged warnings; its log is kept: ${path.join(runDir, 'bridge.log')}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseStartArgs(argv);
  if (!parsed.ok) {
    stderr.write(`npm start: ${parsed.error}\n`);
    return 2;
  }
  if ('help' in parsed) {
    stdout.write(startUsage() + '\n');
    return 0;
  }
  return run(parsed.options);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; if (code !== 0) process.exit(code); else process.exit(0); },
  (err: unknown) => {
    stderr.write(`npm start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
