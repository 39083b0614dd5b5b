/**
 * A pair of linked pseudo-terminals from socat: the bridge opens one end as a serial
 * port, the test plays the MCU on the other. Closing or killing socat is an unplugged cable.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ManagedProcess } from './managed-process';
import { makeTempDir, removeDir } from './temp-dir';
import { waitFor } from './wait-for';

export class PtyPair {
  private proc: ManagedProcess | null = null;
  readonly a: string;
  readonly b: string;
  private constructor(readonly dir: string) {
    this.a = path.join(dir, 'mcu');
    this.b = path.join(dir, 'host');
  }

  static async start(): Promise<PtyPair> {
    const p = new PtyPair(makeTempDir('pty'));
    await p.launch();
    return p;
  }

  private async launch(): Promise<void> {
    this.proc = new ManagedProcess('socat', ['-d', '-d', `pty,raw,echo=0,link=${this.a}`, `pty,raw,echo=0,link=${this.b}`], { logFile: path.join(this.dir, 'socat.log') });
    const proc = this.proc;
    await waitFor(() => {
      if (!proc.running) throw new Error('socat exited');
      return fs.existsSync(this.a) && fs.existsSync(this.b);
    }, { timeoutMs: 10000, what: 'socat pty pair', detail: () => proc.output() });
  }

  async kill(): Promise<void> {
    await this.proc?.kill();
  }

  async restart(): Promise<void> {
    await this.proc?.stop();
    for (const f of [this.a, this.b]) fs.rmSync(f, { force: true });
    await this.launch();
  }

  async dispose(): Promise<void> {
    await this.proc?.stop();
    removeDir(this.dir);
  }
}
