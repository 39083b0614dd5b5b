/**
 * NUT server throughput, side by side in one run: the bridge's NUT server (a real bridge
 * process fed a reading every 500 ms) and the real upsd (Debian's nut-server) with the
 * dummy-ups driver serving the same variables, copied from the bridge's LIST VAR. The
 * same load for both: 200 concurrent clients, each on its own connection, polling
 * `GET VAR <ups> ups.status` as fast as answers come back. Requests/s and p99 latency.
 * The load generator is this one Node process; on a 2-core machine it shares the CPU
 * with the server measured, the same way for both.
 *
 * Goal (issue 18): the bridge answers at >= 1.0x upsd's rate.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { BridgeProcess } from '../bridge/helpers/bridge-harness';
import { readingLine } from '../bridge/helpers/frames';
import { LineServer, ManagedProcess, freePort, makeTempDir, removeDir, sleep, waitFor } from '../helpers/services';
import type { BenchRow } from './bench-row';

const CLIENTS = 200;
const SECONDS = Number(process.env.NUT_BENCH_S ?? 5);
const UPS = 'bench';
const ROUNDS = 3;

interface Result { requests: number; rps: number; p50: number; p99: number; errors: number; cpuUsPerRequest: number }

/** CPU seconds (user + system) a process has used, from /proc: load-independent, unlike requests/s on a shared machine. */
function cpuSeconds(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Closed-loop load: every client sends its next request when the answer to the last one
 * arrives. Kept lean (no strings built, no BigInt) so the generator's own cost per
 * request, which both servers pay alike on this shared CPU, stays small.
 */
async function load(port: number, seconds: number, serverPid: number): Promise<Result> {
  const request = Buffer.from(`GET VAR ${UPS} ups.status\n`);
  const latencies = new Float64Array(4_000_000);
  let count = 0;
  let errors = 0;
  let running = true;
  let measuring = false;
  const sockets: net.Socket[] = [];
  await Promise.all(Array.from({ length: CLIENTS }, () => new Promise<void>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve());
    s.setNoDelay(true);
    s.once('error', reject);
    sockets.push(s);
  })));
  const loops = sockets.map((s) => new Promise<void>((resolve) => {
    let sent = 0;
    let lineStart = true;
    const send = (): void => {
      if (!running) { resolve(); return; }
      sent = performance.now();
      s.write(request);
    };
    s.on('data', (d: Buffer) => {
      for (let i = 0; i < d.length; i++) {
        // A good answer starts "VAR "; anything else (an ERR) is counted.
        if (lineStart && d[i] !== 0x56) errors++;
        lineStart = d[i] === 0x0a;
        if (!lineStart) continue;
        if (measuring && count < latencies.length) latencies[count++] = performance.now() - sent;
        send();
      }
    });
    s.on('close', () => resolve());
    send();
  }));
  await sleep(1000); // warm up
  measuring = true;
  const t0 = performance.now();
  const cpu0 = cpuSeconds(serverPid);
  await sleep(seconds * 1000);
  measuring = false;
  const cpu = cpuSeconds(serverPid) - cpu0;
  const elapsed = (performance.now() - t0) / 1000;
  running = false;
  await Promise.race([Promise.all(loops), sleep(3000)]);
  for (const s of sockets) s.destroy();
  const sorted = latencies.subarray(0, count).sort();
  const q = (p: number): number => sorted[Math.min(count - 1, Math.floor(p * count))] ?? NaN;
  return { requests: count, rps: count / elapsed, p50: q(0.5), p99: q(0.99), errors, cpuUsPerRequest: cpu / count * 1e6 };
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

export async function run(): Promise<BenchRow[]> {
  const dir = makeTempDir('nut-bench');
  const procs: ManagedProcess[] = [];
  let bridge: BridgeProcess | null = null;
  let feeder: NodeJS.Timeout | undefined;
  const mcu = await LineServer.start();
  try {
    // The bridge, fed a reading every 500 ms so its data never goes stale.
    const bridgePort = await freePort();
    fs.writeFileSync(path.join(dir, 'bridge.yaml'), `nut:\n  enabled: true\n  listen: 127.0.0.1:${bridgePort}\n  max_connections: 1000\n  ups:\n    - name: ${UPS}\n      charge_low: 30\n`);
    bridge = await BridgeProcess.create(['--config', path.join(dir, 'bridge.yaml'), '--source', mcu.url, '--spool', path.join(dir, 'spool')], path.join(dir, 'bridge.log'));
    await bridge.start();
    let seq = 1;
    feeder = setInterval(() => { void mcu.send(readingLine(seq++) + '\n'); }, 500);
    await waitFor(async () => (await listVars(bridgePort).catch(() => ['']))[0].startsWith('BEGIN'), { timeoutMs: 15000, what: 'the bridge to serve its variables' });
    const vars = (await listVars(bridgePort)).filter((l) => l.startsWith('VAR '));

    // upsd + dummy-ups serving the same variables.
    const dev = vars.map((l) => { const m = /^VAR \S+ (\S+) "(.*)"$/.exec(l)!; return `${m[1]}: ${m[2].replace(/\\(.)/g, '$1')}`; }).join('\n') + '\n';
    fs.writeFileSync(path.join(dir, 'bench.dev'), dev);
    const upsdPort = await freePort();
    fs.writeFileSync(path.join(dir, 'ups.conf'), `[${UPS}]\n  driver = dummy-ups\n  port = ${path.join(dir, 'bench.dev')}\n  desc = "same variables as the bridge"\n`);
    fs.writeFileSync(path.join(dir, 'upsd.conf'), `LISTEN 127.0.0.1 ${upsdPort}\nMAXCONN 1024\n`);
    fs.writeFileSync(path.join(dir, 'upsd.users'), '');
    for (const f of ['ups.conf', 'upsd.conf', 'upsd.users']) fs.chmodSync(path.join(dir, f), 0o600);
    procs.push(nutDaemon(dir, '/lib/nut/dummy-ups -a bench -u root -F', 'dummy-ups.log'));
    await waitFor(() => fs.readdirSync(dir).some((f) => f.startsWith('dummy-ups-')), { timeoutMs: 15000, what: 'the dummy-ups driver socket', detail: () => procs[0].output() });
    procs.push(nutDaemon(dir, '/lib/nut/upsd -F -u root', 'upsd.log'));
    const statusLine = vars.find((l) => l.includes(' ups.status '))!;
    await waitFor(async () => (await listVars(upsdPort).catch(() => [''])).includes(statusLine), { timeoutMs: 15000, what: 'upsd to serve the variables', detail: () => procs.map((p) => p.output()).join('\n') });
    const upsdVars = (await listVars(upsdPort)).filter((l) => l.startsWith('VAR ') && !l.includes(' driver.') && !l.includes(' device.'));
    for (const l of upsdVars) if (!vars.includes(l)) throw new Error(`upsd serves ${l}, which the bridge does not`);

    // Interleaved rounds, so a burst of load from elsewhere on this shared machine does
    // not fall on one server only; each server's best round is reported.
    const best = (a: Result, b: Result): Result => (b.rps > a.rps ? b : a);
    // The floor for any Node server on this machine: a bare net.createServer that writes a
    // fixed answer per read, no parsing, no state. If the bridge is near it, the gap to upsd
    // is Node's per-read/write cost, not the NUT server's.
    const floorPort = await freePort();
    const floorCode = `const net=require('net');const a=Buffer.from('VAR ${UPS} ups.status "OL"\\n');` +
      `net.createServer((s)=>{s.setNoDelay(true);s.on('error',()=>{});s.on('data',()=>s.write(a));}).listen(${floorPort},'127.0.0.1');`;
    const floor = new ManagedProcess(process.execPath, ['-e', floorCode], { logFile: path.join(dir, 'floor.log') });
    procs.push(floor);
    await waitFor(() => new Promise<boolean>((r) => { const s = net.connect(floorPort, '127.0.0.1', () => { s.destroy(); r(true); }); s.on('error', () => r(false)); }), { timeoutMs: 10000, what: 'the Node floor server' });
    const bridgePid = bridge.proc!.pid!;
    const upsdPid = procs[1].pid!;
    let ours = await load(bridgePort, SECONDS, bridgePid);
    let theirs = await load(upsdPort, SECONDS, upsdPid);
    let bare = await load(floorPort, SECONDS, floor.pid!);
    for (let round = 1; round < ROUNDS; round++) {
      ours = best(ours, await load(bridgePort, SECONDS, bridgePid));
      theirs = best(theirs, await load(upsdPort, SECONDS, upsdPid));
      bare = best(bare, await load(floorPort, SECONDS, floor.pid!));
    }
    const ratio = ours.rps / theirs.rps;
    console.log(`| server | clients | requests/s | p50 ms | p99 ms | server CPU µs/request | errors |`);
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    for (const [name, r] of [['bridge NUT server', ours], ['upsd 2.8.0 + dummy-ups', theirs], ['floor: bare Node server, fixed answer', bare]] as const) {
      console.log(`| ${name} | ${CLIENTS} | ${Math.round(r.rps)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.cpuUsPerRequest.toFixed(1)} | ${r.errors} |`);
    }
    console.log(`ratio bridge/upsd: ${ratio.toFixed(2)}x, bridge/bare Node: ${(ours.rps / bare.rps).toFixed(2)}x; best of ${ROUNDS} interleaved rounds of ${SECONDS} s each`);
    if (ours.errors > 0 || theirs.errors > 0 || bare.errors > 0) throw new Error(`error answers: bridge ${ours.errors}, upsd ${theirs.errors}`);
    return [{
      what: `NUT server, ${CLIENTS} clients polling ups.status`,
      value: `${Math.round(ours.rps)} req/s (p99 ${ours.p99.toFixed(1)} ms) = ${ratio.toFixed(2)}x upsd's ${Math.round(theirs.rps)} (p99 ${theirs.p99.toFixed(1)} ms)`,
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
