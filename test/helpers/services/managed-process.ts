/**
 * A child process a test owns: output kept (tail in memory, all of it in a log file),
 * stopped gracefully (SIGTERM, then SIGKILL after a grace period) or killed outright
 * (SIGKILL, for fault tests), and always reaped.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';

const TAIL_BYTES = 64 * 1024;

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Where stdout and stderr are also written. */
  logFile: string;
  stdin?: 'pipe' | 'ignore';
}

export class ManagedProcess {
  readonly child: ChildProcess;
  private tail = '';
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly log: fs.WriteStream;

  constructor(readonly command: string, readonly args: readonly string[], o: SpawnOptions) {
    this.log = fs.createWriteStream(o.logFile, { flags: 'a' });
    this.child = spawn(command, [...args], { cwd: o.cwd, env: o.env ?? process.env, stdio: [o.stdin ?? 'ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer): void => {
      this.log.write(b);
      this.tail = (this.tail + b.toString('utf8')).slice(-TAIL_BYTES);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve({ code, signal });
      });
      this.child.once('error', (err) => {
        this.tail += `\n[spawn error: ${err.message}]`;
        this.exitInfo = { code: -1, signal: null };
        resolve({ code: -1, signal: null });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  output(): string {
    return this.tail;
  }

  waitExit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exited;
  }

  /** SIGTERM, then SIGKILL if it is still there after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => { if (this.running) this.child.kill('SIGKILL'); }, graceMs);
    await this.exited;
    clearTimeout(t);
    this.log.end();
  }

  /** SIGKILL: no chance to flush or say goodbye. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
    this.log.end();
  }
}
