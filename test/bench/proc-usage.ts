/**
 * What a process (and any children it has) costs the host, read from /proc: CPU time,
 * context switches (each one a wake-up or a preemption) and resident memory. Linux only,
 * like the services the benchmarks start.
 */
import fs from 'node:fs';

/** Kernel clock ticks per second for utime/stime in /proc/PID/stat (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

export interface ProcUsage {
  /** utime + stime of every process of the tree, plus what reaped children used (cutime + cstime), in seconds. */
  cpuSeconds: number;
  /** Time on a CPU summed over every thread (/proc/PID/task/TID/schedstat), in seconds: finer than the ticks above. */
  schedSeconds: number;
  /** voluntary + nonvoluntary context switches summed over every thread of the tree. */
  switches: number;
  /** VmRSS summed over the tree, in MB. */
  rssMb: number;
  /** VmHWM (peak resident) of the root process, in MB. */
  hwmMb: number;
}

function read(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return ''; // a thread or child that just exited
  }
}

function threads(pid: number): string[] {
  try {
    return fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
}

/** The process and its descendants, found through /proc/PID/task/TID/children. */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0 && out.length < 1000) {
    const p = todo.pop()!;
    out.push(p);
    for (const tid of threads(p)) {
      for (const c of read(`/proc/${p}/task/${tid}/children`).split(/\s+/)) if (c) todo.push(Number(c));
    }
  }
  return out;
}

function statusKb(text: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

export function procUsage(pid: number): ProcUsage {
  let ticks = 0;
  let schedNs = 0;
  let switches = 0;
  let rssKb = 0;
  let hwmKb = 0;
  for (const p of processTree(pid)) {
    const stat = read(`/proc/${p}/stat`);
    // Fields after the command name (which may hold spaces): state is [0], utime [11], stime [12], cutime [13], cstime [14].
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (f.length > 14) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    const status = read(`/proc/${p}/status`);
    rssKb += statusKb(status, 'VmRSS');
    if (p === pid) hwmKb = statusKb(status, 'VmHWM');
    for (const tid of threads(p)) {
      const s = read(`/proc/${p}/task/${tid}/status`);
      for (const key of ['voluntary_ctxt_switches', 'nonvoluntary_ctxt_switches']) {
        const m = new RegExp(`^${key}:\\s+(\\d+)$`, 'm').exec(s);
        if (m) switches += Number(m[1]);
      }
      schedNs += Number(read(`/proc/${p}/task/${tid}/schedstat`).split(' ')[0] || 0);
    }
  }
  return { cpuSeconds: ticks / USER_HZ, schedSeconds: schedNs / 1e9, switches, rssMb: rssKb / 1024, hwmMb: hwmKb / 1024 };
}
