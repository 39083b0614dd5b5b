/**
 * The whole chain for NUT tests: the firmware bundle on the simulated MCU, its serial
 * port on TCP, the bridge as a real process with the NUT server on, real upsc and upsmon
 * (Debian's nut-client) against it. The simulation is paced against the wall clock at a
 * speed the test chooses per virtual moment (slow while the MCU hangs, so its watchdog
 * takes long enough for staleness to show).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { LineSplitter, MAX_LINE_LENGTH, ReadingFrame, decodeLine } from '../../../protocol';
import { SerialEndpoint, startTcpEndpoint } from '../../../simulator/endpoints';
import type { PlantParams } from '../../../simulator/plant-params';
import type { Scenario } from '../../../simulator/scenarios';
import { Simulation } from '../../../simulator/simulation';
import { BridgeProcess } from '../../bridge/helpers/bridge-harness';
import { ensureFirmwareBundle } from '../../helpers/firmware-bundle';
import { ManagedProcess, freePort, sleep, waitFor } from '../../helpers/services';

export const UPSMON = '/lib/nut/upsmon';

export interface TierSpec { name: string; charge_low: number; runtime_low: number; description?: string }
export interface UserSpec { name: string; password: string; role: 'primary' | 'secondary'; ups?: string[] }

export interface RigOptions {
  dir: string;
  scenario: Scenario;
  seed?: number;
  plant?: (p: PlantParams) => void;
  tiers: TierSpec[];
  users: UserSpec[];
  staleAfterMs?: number;
  idleTimeoutS?: number;
  maxConnections?: number;
  extraArgs?: string[];
}

/** YAML of the bridge's nut section; passwords go through the environment (password_env). */
function configYaml(o: RigOptions, port: number): { yaml: string; env: NodeJS.ProcessEnv } {
  const env: NodeJS.ProcessEnv = {};
  // The estimator off: this rig's small bank, drained from the start at speed, never
  // reaches a full sync, so NUT here runs on its voltage view (feature.test.ts covers the
  // estimator's values reaching NUT).
  let y = `battery:\n  enabled: false\nnut:\n  enabled: true\n  listen: 127.0.0.1:${port}\n  stale_after_ms: ${o.staleAfterMs ?? 3000}\n`;
  y += `  idle_timeout_s: ${o.idleTimeoutS ?? 60}\n  max_connections: ${o.maxConnections ?? 256}\n  ups:\n`;
  for (const t of o.tiers) y += `    - name: ${t.name}\n      description: ${JSON.stringify(t.description ?? `tier ${t.name}`)}\n      charge_low: ${t.charge_low}\n      runtime_low: ${t.runtime_low}\n`;
  y += '  users:\n';
  o.users.forEach((u, i) => {
    const v = `NUT_TEST_PASSWORD_${i}`;
    env[v] = u.password;
    y += `    - name: ${u.name}\n      password_env: ${v}\n      role: ${u.role}\n      ups: [${(u.ups ?? []).join(', ')}]\n`;
  });
  return { yaml: y, env };
}

export class NutRig {
  sim!: Simulation;
  endpoint!: SerialEndpoint;
  bridge!: BridgeProcess;
  nutPort = 0;
  /** The newest reading the firmware wrote to its port. */
  lastReading: ReadingFrame | null = null;
  private pacing: Promise<void> | null = null;
  private stopPacing = false;

  constructor(readonly o: RigOptions) {}

  async start(): Promise<void> {
    const o = this.o;
    let ep: SerialEndpoint | null = null;
    const splitter = new LineSplitter(MAX_LINE_LENGTH, (line) => {
      const d = decodeLine(line);
      if (d.ok && d.frame.type === 'R') this.lastReading = d.frame;
    });
    this.sim = new Simulation({
      scenario: o.scenario, seed: o.seed ?? 7,
      firmware: { code: fs.readFileSync(ensureFirmwareBundle(), 'utf8'), filename: 'firmware.js' },
      plant: o.plant,
      onSerial: (d) => {
        splitter.push(d);
        ep?.write(d);
      },
    });
    const sim = this.sim;
    ep = await startTcpEndpoint('127.0.0.1', 0, (d) => sim.hostInput(d));
    this.endpoint = ep;
    this.nutPort = await freePort();
    const { yaml, env } = configYaml(o, this.nutPort);
    const file = path.join(o.dir, 'bridge.yaml');
    fs.writeFileSync(file, yaml);
    this.bridge = await BridgeProcess.create(['--config', file, '--source', ep.address, '--spool', path.join(o.dir, 'spool'), ...(o.extraArgs ?? [])],
      path.join(o.dir, 'bridge.log'), { SOLAR_BRIDGE_SOURCE_RECONNECT_INITIAL_MS: '50', SOLAR_BRIDGE_SOURCE_RECONNECT_MAX_MS: '500', ...env });
    await this.bridge.start();
    const e = ep;
    await waitFor(() => e.clients === 1, { timeoutMs: 15000, what: 'the bridge to connect to the MCU port' });
  }

  /** Runs the simulation paced at speedAt(virtual seconds) × real time, until stopped or done. */
  pace(speedAt: (t: number) => number): void {
    const sim = this.sim;
    this.stopPacing = false;
    this.pacing = (async () => {
      let wall = performance.now();
      while (!sim.done && !this.stopPacing) {
        await sleep(10);
        const now = performance.now();
        const target = Math.min(sim.endS, sim.clock.now + (now - wall) / 1000 * speedAt(sim.clock.now));
        wall = now;
        sim.runUntil(target);
      }
    })();
  }

  async stopSim(): Promise<void> {
    this.stopPacing = true;
    await this.pacing;
  }

  upsc(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile('upsc', args, { timeout: 10000 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Every "name: value" line of `upsc ups@host:port`. */
  async vars(ups: string): Promise<Map<string, string>> {
    const r = await this.upsc([`${ups}@127.0.0.1:${this.nutPort}`]);
    if (r.code !== 0) throw new Error(`upsc ${ups}: exit ${r.code}: ${r.stderr}`);
    return new Map(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
  }

  async dispose(): Promise<void> {
    await this.stopSim().catch(() => undefined);
    await this.bridge?.kill();
    await this.endpoint?.close();
  }
}

/** One request-answer client on a kept-open connection (for polling and raw protocol checks). */
export class NutClient {
  private buf = '';
  private waiters: Array<(line: string) => void> = [];
  private lines: string[] = [];
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const w = this.waiters.shift();
        if (w) w(line);
        else this.lines.push(line);
      }
    });
    socket.on('close', () => { this.closed = true; });
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<NutClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new NutClient(s)));
      s.once('error', reject);
    });
  }

  /** The next line from the server (bounded wait). */
  next(timeoutMs = 5000): Promise<string> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no answer from the NUT server')), timeoutMs);
      this.waiters.push((l) => { clearTimeout(t); resolve(l); });
    });
  }

  async ask(line: string): Promise<string> {
    const p = this.next();
    this.socket.write(line + '\n');
    return p;
  }

  /** A LIST request: every line up to and including END LIST. */
  async list(line: string): Promise<string[]> {
    const out = [await this.ask(line)];
    if (!out[0].startsWith('BEGIN LIST')) return out;
    for (let i = 0; i < 1000 && !out[out.length - 1].startsWith('END LIST'); i++) out.push(await this.next());
    return out;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A real upsmon in the foreground, as root, with its config, state, pid and POWERDOWNFLAG files in its own directory. */
export class Upsmon {
  proc: ManagedProcess | null = null;
  readonly marker: string;

  constructor(readonly dir: string, readonly monitor: string, o: { deadtime?: number; hostsync?: number } = {}) {
    fs.mkdirSync(dir, { recursive: true });
    this.marker = path.join(dir, 'shutdown-marker');
    const script = path.join(dir, 'shutdown.sh');
    // What a real host would do with `shutdown -h +0`: here, leave proof of the decision.
    fs.writeFileSync(script, `#!/bin/sh\ndate +%s.%N > ${this.marker}\n`, { mode: 0o755 });
    const events = ['ONLINE', 'ONBATT', 'LOWBATT', 'FSD', 'COMMOK', 'COMMBAD', 'SHUTDOWN', 'REPLBATT', 'NOCOMM', 'NOPARENT'];
    const conf = [
      'RUN_AS_USER root',
      `MONITOR ${monitor}`,
      'MINSUPPLIES 1',
      `SHUTDOWNCMD "${script}"`,
      'POLLFREQ 1',
      'POLLFREQALERT 1',
      `HOSTSYNC ${o.hostsync ?? 5}`,
      `DEADTIME ${o.deadtime ?? 15}`,
      `POWERDOWNFLAG ${path.join(dir, 'killpower')}`,
      'FINALDELAY 0',
      // Log only (the test reads upsmon's output), no wall messages to every terminal.
      ...events.map((e) => `NOTIFYFLAG ${e} SYSLOG`),
      '',
    ].join('\n');
    fs.writeFileSync(path.join(dir, 'upsmon.conf'), conf, { mode: 0o600 });
  }

  start(): void {
    // upsmon 2.8.0 keeps its pid file in the compiled-in /run/nut and refuses to start
    // beside a running instance, so each one gets a private /run/nut: this directory,
    // bound over it in its own mount namespace. -F foreground, -p one privileged process
    // (as root there is no one to drop to), -D for its decisions in the output.
    const sh = `mkdir -p /run/nut && mount --bind "$0" /run/nut && exec ${UPSMON} -F -p -D`;
    this.proc = new ManagedProcess('unshare', ['--mount', 'sh', '-c', sh, this.dir], {
      logFile: path.join(this.dir, 'upsmon.log'),
      env: { ...process.env, NUT_CONFPATH: this.dir, NUT_STATEPATH: this.dir, NUT_ALTPIDPATH: this.dir },
    });
  }

  get shutDown(): boolean {
    return fs.existsSync(this.marker);
  }

  output(): string {
    return this.proc?.output() ?? '';
  }

  async stop(): Promise<void> {
    await this.proc?.kill();
  }
}
