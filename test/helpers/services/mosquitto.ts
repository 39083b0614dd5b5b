/**
 * A real mosquitto broker on a free loopback port, in its own temp directory, with
 * persistence (so a stop/restart keeps retained messages and persistent sessions), and
 * optionally password authentication and TLS (server cert, optional client certs).
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ManagedProcess } from './managed-process';
import { ProcessService } from './process-service';
import { canConnect, freePort } from './free-port';
import { makeTempDir } from './temp-dir';
import { waitFor } from './wait-for';

export interface MosquittoOptions {
  /** Users for password auth; anonymous access is refused when given. */
  users?: { username: string; password: string }[];
  /** Serve TLS with these PEM files (see makeTestPki in tls-certs.ts). */
  tls?: { caFile: string; certFile: string; keyFile: string; requireClientCert: boolean };
}

export class MosquittoService extends ProcessService {
  private constructor(dir: string, readonly port: number, private readonly options: MosquittoOptions) {
    super(dir);
  }

  static async start(options: MosquittoOptions = {}): Promise<MosquittoService> {
    const s = new MosquittoService(makeTempDir('mosquitto'), await freePort(), options);
    s.writeConfig();
    return ProcessService.launched(s);
  }

  get url(): string {
    return `${this.options.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  private writeConfig(): void {
    const lines = [
      `listener ${this.port} 127.0.0.1`,
      `persistence true`,
      `persistence_location ${this.dir}/`,
      `autosave_interval 3600`,
      // Enough for a subscriber that lags behind a bridge catching up after an outage.
      `max_queued_messages 2000000`,
      `max_queued_bytes 0`,
      `log_dest stdout`,
      `log_type error`,
      `log_type warning`,
      `log_type notice`,
    ];
    // Run as root (CI), mosquitto would switch to user "mosquitto", which cannot read this
    // test's private temp directory.
    if (process.getuid?.() === 0) lines.push('user root');
    if (this.options.users && this.options.users.length > 0) {
      const pw = path.join(this.dir, 'passwd');
      fs.writeFileSync(pw, '');
      for (const u of this.options.users) execFileSync('mosquitto_passwd', ['-b', pw, u.username, u.password]);
      lines.push(`allow_anonymous false`, `password_file ${pw}`);
    } else {
      lines.push('allow_anonymous true');
    }
    if (this.options.tls) {
      lines.push(`cafile ${this.options.tls.caFile}`, `certfile ${this.options.tls.certFile}`, `keyfile ${this.options.tls.keyFile}`);
      if (this.options.tls.requireClientCert) lines.push('require_certificate true');
    }
    fs.writeFileSync(path.join(this.dir, 'mosquitto.conf'), lines.join('\n') + '\n');
  }

  protected async launch(): Promise<void> {
    this.proc = new ManagedProcess('mosquitto', ['-c', path.join(this.dir, 'mosquitto.conf')], { logFile: path.join(this.dir, 'mosquitto.log') });
    const proc = this.proc;
    await waitFor(async () => {
      if (!proc.running) throw new Error(`mosquitto exited: ${proc.output()}`);
      return canConnect(this.port);
    }, { timeoutMs: 10000, what: `mosquitto on port ${this.port}`, detail: () => proc.output() });
  }
}
