/**
 * NUT server throughput, side by side in one run: the bridge's NUT server (a real bridge
 * process fed a reading every 500 ms), the real upsd (Debian's nut-server, stock settings
 * but MAXCONN) with the dummy-ups driver serving the same variables, copied from the
 * bridge's LIST VAR, and a bare Node server writing a fixed answer per read (the floor
 * for one Node event loop here). The same load for each: 200 concurrent clients, each on
 * its own connection, polling `GET VAR <ups> ups.status` as fast as answers come back,
 * from test/bench/nut-load.c (compiled here with cc: a lean C generator, so the load
 * costs every server alike and little). Rounds of equal length, the servers' order
 * rotating from round to round; the median round of each is the headline, every round is
 * printed with the machine's load average. Requests/s, p50/p99 latency, and the server's
 * own CPU time per request (from /proc: load elsewhere on the machine moves it far less
 * than it moves requests/s).
 *
 * Goal (issue 18): the bridge answers at >= 1.0x upsd's rate.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SERVICE_NODE_FLAGS } from '../../bridge/src';
import { BridgeLaunch, BridgeProcess, repoRoot } from '../bridge/helpers/bridge-harness';
import { readingLine } from '../bridge/helpers/frames';
import { LineServer, ManagedProcess, freePort, makeTempDir, removeDir, waitFor } from '../helpers/services';
import type { BenchRow } from './bench-row';

const CLIENTS = 200;
const SECONDS = Number(process.env.NUT_BENCH_S ?? 4);
const ROUNDS = Number(process.env.NUT_BENCH_ROUNDS ?? 5);
const WARMUP_S = 1;
const UPS = 'bench';
const REQUEST = `GET VAR ${UPS} ups.status\n`;

interface Result {
  rps: number; p50: number; p99: number; errors: number;
  /** The server's CPU per request: user space, kernel (its reads, writes and the loopback delivery they do). */
  userUs: number; sysUs: number;
  loadCpuUsPerRequest: number; load1: number;
}
interface Server { name: string; port: number; pid: number; rounds: Result[] }

/** CPU seconds a process has used in user space and in the kernel, from /proc. */
function cpuSeconds(pid: number): { user: number; sys: number } {
  // utime and stime are in clock ticks; Linux's USER_HZ is 100 on every architecture Node runs on.
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / 100, sys: Number(fields[12]) / 100 };
}

/**
 * How the bridge runs: as the systemd unit runs it (the bundle, node with the service
 * flags: the default), the bundle with plain node, or from TypeScript as `npm run bridge`.
 */
async function bridgeLaunch(dir: string): Promise<{ launch: BridgeLaunch; env: NodeJS.ProcessEnv; label: string }> {
  const how = process.env.NUT_BENCH_BRIDGE ?? 'service';
  if (how === 'ts') return { launch: { kind: 'ts' }, env: {}, label: 'npm run bridge (ts-node)' };
  if (how !== 'service' && how !== 'bundle') throw new Error(`NUT_BENCH_BRIDGE=${how}: expected service, bundle or ts`);
  const file = path.join(dir, 'bridge.js');
  await new Promise<void>((resolve, reject) => execFile(process.execPath, ['scripts/ts-run.js', 'scripts/bridge.ts', '--build', file], { cwd: repoRoot },
    (e, _so, se) => (e ? reject(new Error(`bundle build failed: ${e.message}\n${se}`)) : resolve())));
  const nodeFlags = how === 'service' ? [...SERVICE_NODE_FLAGS] : [];
  // The bundle leaves its npm dependencies out; they resolve from the project's node_modules.
  return { launch: { kind: 'bundle', file, nodeFlags }, env: { NODE_PATH: path.join(repoRoot, 'node_modules') }, label: `bundle, node ${nodeFlags.join(' ') || '(no flags)'}` };
}

/** Compiles the load generator; the bench needs a C compiler (g++ is in scripts/system-packages.txt, and brings gcc). */
function compileLoad(dir: string): Promise<string> {
  const out = path.join(dir, 'nut-load');
  return new Promise((resolve, reject) => {
    execFile('cc', ['-O2', '-Wall', '-o', out, path.join(__dirname, 'nut-load.c')], (e, _so, se) => (e ? reject(new Error(`cannot compile test/bench/nut-load.c with cc: ${e.message}\n${se}`)) : resolve(out)));
  });
}

/** One round against one server (async, so this process keeps feeding the bridge its readings). */
function load(bin: string, s: Server): Promise<Result> {
  const load1 = os.loadavg()[0];
  let cpu0 = cpuSeconds(s.pid);
  // The server's CPU is read about when the measured window opens (the generator starts it
  // once its clients are connected); the server is idle once the generator stops.
  const opened = setTimeout(() => { cpu0 = cpuSeconds(s.pid); }, WARMUP_S * 1000);
  return new Promise((resolve, reject) => {
    const p = spawn(bin, [String(s.port), String(CLIENTS), String(WARMUP_S), String(SECONDS), REQUEST], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(opened);
      const cpu1 = cpuSeconds(s.pid);
      const f = out.trim().split(' ').map(Number);
      if (code !== 0 || f.length !== 6) { reject(new Error(`load generator against ${s.name} failed (exit ${code}): ${err}${out}`)); return; }
      const [requests, seconds, p50, p99, errors, loadCpu] = f;
      // The generator's own CPU figure covers its warm-up too: counted at the measured rate.
      const withWarmup = requests * (SECONDS + WARMUP_S) / seconds;
      resolve({ rps: requests / seconds, p50, p99, errors, userUs: (cpu1.user - cpu0.user) / requests * 1e6, sysUs: (cpu1.sys - cpu0.sys) / requests * 1e6, loadCpuUsPerRequest: loadCpu / withWarmup * 1e6, load1 });
    });
  });
}

/** One NUT exchange on a fresh connection: every line up to END LIST. */
async function listVars(port: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(`LIST VAR ${UPS}\n`));
    let text = '';
    s.on('data', (d) => {
      text += d.toString('utf8');
      if (text.includes('END LIST')) { s.destroy(); resolve(text.trim().split('\n')); }
    });
    s.on('error', reject);
    setTimeout(() => reject(new Error(`no LIST VAR answer: ${text}`)), 5000).unref();
  });
}

/** upsd and dummy-ups run in their own mount namespace with a private /run/nut (their pid files live there, compiled in). */
function nutDaemon(dir: string, command: string, log: string): ManagedProcess {
  return new ManagedProcess('unshare', ['--mount', 'sh', '-c', `mkdir -p /run/nut && mount --bind "$0" /run/nut && exec ${command}`, dir], {
    logFile: path.join(dir, log),
    env: { ...process.env, NUT_CONFPATH: dir, NUT_STATEPATH: dir, NUT_ALTPIDPATH: dir },
  });
}

/**
 * Another process on this shared machine may take a port between freePort() and the
 * server binding it: such a start is retried on a fresh port.
 */
async function withPortRetry<T>(what: string, start: (attempt: number) => Promise<T>): Promise<T> {
  let last: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await start(attempt);
    } catch (e) {
      last = e;
      console.log(`${what}: start ${attempt} failed (${(e as Error).message.split('\n')[0]}), retrying`);
    }
  }
  throw last;
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const f0 = (x: number): string => Math.round(x).toLocaleString('en-US');

export async function run(): Promise<BenchRow[]> {
  const dir = makeTempDir('nut-bench');
  const procs: ManagedProcess[] = [];
  let bridge: BridgeProcess | null = null;
  let feeder: NodeJS.Timeout | undefined;
  const mcu = await LineServer.start();
  try {
    const bin = await compileLoad(dir);
    // The bridge, fed a reading every 500 ms so its data never goes stale. Its NUT server
    // binds port 0 and says which port it got on /healthz.
    fs.writeFileSync(path.join(dir, 'bridge.yaml'), `nut:\n  enabled: true\n  listen: 127.0.0.1:0\n  max_connections: 1000\n  ups:\n    - name: ${UPS}\n      charge_low: 30\n`);
    const how = await bridgeLaunch(dir);
    bridge = await withPortRetry('bridge', async (n) => {
      const b = await BridgeProcess.create(['--config', path.join(dir, 'bridge.yaml'), '--source', mcu.url, '--spool', path.join(dir, `spool${n}`)], path.join(dir, `bridge${n}.log`), how.env, how.launch);
      try { await b.start(); } catch (e) { await b.kill(); throw e; }
      return b;
    });
    let seq = 1;
    feeder = setInterval(() => { void mcu.send(readingLine(seq++) + '\n'); }, 500);
    const health = await (await fetch(`http://127.0.0.1:${bridge.httpPort}/healthz`)).json() as { features: { nut: { listening: string } } };
    const bridgePort = Number(health.features.nut.listening.split(':').pop());
    await waitFor(async () => (await listVars(bridgePort).catch(() => ['']))[0].startsWith('BEGIN'), { timeoutMs: 15000, what: 'the bridge to serve its variables' });
    const vars = (await listVars(bridgePort)).filter((l) => l.startsWith('VAR '));

    // upsd + dummy-ups serving the same variables; upsd.conf is stock but for where it
    // listens and MAXCONN (its default, 1024, stated so the 200 clients fit whatever the build).
    const dev = vars.map((l) => { const m = /^VAR \S+ (\S+) "(.*)"$/.exec(l)!; return `${m[1]}: ${m[2].replace(/\\(.)/g, '$1')}`; }).join('\n') + '\n';
    fs.writeFileSync(path.join(dir, 'bench.dev'), dev);
    fs.writeFileSync(path.join(dir, 'ups.conf'), `[${UPS}]\n  driver = dummy-ups\n  port = ${path.join(dir, 'bench.dev')}\n  desc = "same variables as the bridge"\n`);
    fs.writeFileSync(path.join(dir, 'upsd.users'), '');
    procs.push(nutDaemon(dir, '/lib/nut/dummy-ups -a bench -u root -F', 'dummy-ups.log'));
    await waitFor(() => fs.readdirSync(dir).some((f) => f.startsWith('dummy-ups-')), { timeoutMs: 15000, what: 'the dummy-ups driver socket', detail: () => procs[0].output() });
    const statusLine = vars.find((l) => l.includes(' ups.status '))!;
    const upsd = await withPortRetry('upsd', async (n) => {
      const port = await freePort();
      fs.writeFileSync(path.join(dir, 'upsd.conf'), `LISTEN 127.0.0.1 ${port}\nMAXCONN 1024\n`);
      for (const f of ['ups.conf', 'upsd.conf', 'upsd.users']) fs.chmodSync(path.join(dir, f), 0o600);
      const p = nutDaemon(dir, '/lib/nut/upsd -F -u root', `upsd${n}.log`);
      try {
        await waitFor(async () => {
          if (!p.running) throw new Error(`upsd exited: ${p.output()}`);
          return (await listVars(port).catch(() => [''])).includes(statusLine);
        }, { timeoutMs: 15000, what: 'upsd to serve the variables', detail: () => p.output() });
      } catch (e) { await p.stop(3000); throw e; }
      procs.push(p);
      return { port, pid: p.pid! };
    });
    const upsdVars = (await listVars(upsd.port)).filter((l) => l.startsWith('VAR ') && !l.includes(' driver.') && !l.includes(' device.'));
    for (const l of upsdVars) if (!vars.includes(l)) throw new Error(`upsd serves ${l}, which the bridge does not`);

    // The floor: binds port 0 and prints the port it got.
    const floorCode = `const net=require('net');const a=Buffer.from('VAR ${UPS} ups.status "OL"\\n');` +
      `const s=net.createServer((c)=>{c.setNoDelay(true);c.on('error',()=>{});c.on('data',()=>c.write(a));});s.listen(0,'127.0.0.1',()=>console.log('port '+s.address().port));`;
    const floor = new ManagedProcess(process.execPath, ['-e', floorCode], { logFile: path.join(dir, 'floor.log') });
    procs.push(floor);
    await waitFor(() => /port \d+/.test(floor.output()), { timeoutMs: 10000, what: 'the Node floor server', detail: () => floor.output() });
    const floorPort = Number(/port (\d+)/.exec(floor.output())![1]);

    const servers: Server[] = [
      { name: 'bridge NUT server', port: bridgePort, pid: bridge.proc!.pid!, rounds: [] },
      { name: 'upsd 2.8.0 + dummy-ups', port: upsd.port, pid: upsd.pid, rounds: [] },
      { name: 'floor: bare Node server, fixed answer', port: floorPort, pid: floor.pid!, rounds: [] },
    ];
    console.log(`${ROUNDS} rounds of ${WARMUP_S} s warm-up + ${SECONDS} s, ${CLIENTS} clients, generator test/bench/nut-load.c; ${os.cpus().length} CPUs; bridge: ${how.label}`);
    console.log('| round | server | requests/s | p50 ms | p99 ms | server CPU µs/request (user + kernel) | generator CPU µs/request | load avg (1 min) | errors |');
    console.log('|---:|---|---:|---:|---:|---|---:|---:|---:|');
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order, so no server always runs first (or right after another's load).
      for (let i = 0; i < servers.length; i++) {
        const s = servers[(i + round) % servers.length];
        const r = await load(bin, s);
        s.rounds.push(r);
        console.log(`| ${round + 1} | ${s.name} | ${f0(r.rps)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${(r.userUs + r.sysUs).toFixed(1)} (${r.userUs.toFixed(1)} + ${r.sysUs.toFixed(1)}) | ${r.loadCpuUsPerRequest.toFixed(1)} | ${r.load1.toFixed(2)} | ${r.errors} |`);
      }
    }
    console.log('\nmedian of the rounds:');
    console.log('| server | requests/s | p99 ms | server CPU µs/request |');
    console.log('|---|---:|---:|---:|');
    const med = servers.map((s) => ({ rps: median(s.rounds.map((r) => r.rps)), p99: median(s.rounds.map((r) => r.p99)), cpu: median(s.rounds.map((r) => r.userUs + r.sysUs)) }));
    servers.forEach((s, i) => console.log(`| ${s.name} | ${f0(med[i].rps)} | ${med[i].p99.toFixed(2)} | ${med[i].cpu.toFixed(1)} |`));
    const [ours, theirs, bare] = med;
    const ratio = ours.rps / theirs.rps;
    const perRound = servers[0].rounds.map((r, i) => r.rps / servers[1].rounds[i].rps);
    console.log(`ratio bridge/upsd of the medians: ${ratio.toFixed(2)}x (per round: ${perRound.map((x) => x.toFixed(2)).join(', ')}); bridge/bare Node: ${(ours.rps / bare.rps).toFixed(2)}x`);
    const errors = servers.map((s) => s.rounds.reduce((n, r) => n + r.errors, 0));
    if (errors.some((n) => n > 0)) throw new Error(`error answers: ${servers.map((s, i) => `${s.name} ${errors[i]}`).join(', ')}`);
    return [{
      what: `NUT server, ${CLIENTS} clients polling ups.status`,
      value: `${f0(ours.rps)} req/s (p99 ${ours.p99.toFixed(1)} ms, ${ours.cpu.toFixed(1)} µs CPU/request) = ${ratio.toFixed(2)}x upsd's ${f0(theirs.rps)} (p99 ${theirs.p99.toFixed(1)} ms, ${theirs.cpu.toFixed(1)} µs), medians of ${ROUNDS} rounds`,
      goal: '>= 1.0x upsd',
      met: ratio >= 1.0,
    }];
  } finally {
    if (feeder) clearInterval(feeder);
    for (const p of procs.reverse()) await p.stop(3000);
    await bridge?.kill();
    await mcu.close();
    removeDir(dir);
  }
}
