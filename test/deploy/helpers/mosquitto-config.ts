/**
 * mosquitto started from a shipped configuration file, not one the test writes: the
 * file's text with its install paths and ports replaced (each replacement must match, so
 * a renamed path in the file fails the test instead of silently testing something else),
 * plus what a test run needs (log to stdout; run as root when the test is root).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ManagedProcess, canConnect, makeTempDir, waitFor } from '../../helpers/services';
import { ProcessService } from '../../helpers/services/process-service';

export interface Replacement { from: string; to: string }

export function substitute(text: string, replacements: Replacement[]): string {
  let out = text;
  for (const r of replacements) {
    if (!out.includes(r.from)) throw new Error(`the configuration has no "${r.from}" to replace`);
    out = out.split(r.from).join(r.to);
  }
  return out;
}

export class ConfiguredMosquitto extends ProcessService {
  private constructor(dir: string, readonly conf: string, readonly ports: number[]) {
    super(dir);
  }

  /** Starts mosquitto on `text` (already substituted); waits until every port in `ports` accepts connections. */
  static async start(text: string, ports: number[]): Promise<ConfiguredMosquitto> {
    const dir = makeTempDir('mosquitto-conf');
    const conf = path.join(dir, 'mosquitto.conf');
    const head = ['log_dest stdout', 'log_type error', 'log_type warning', 'log_type notice', 'log_type information'];
    // As root (CI) mosquitto would drop to user "mosquitto", which cannot read the test's temp files.
    if (process.getuid?.() === 0) head.push('user root');
    fs.writeFileSync(conf, head.join('\n') + '\n' + text);
    return ProcessService.launched(new ConfiguredMosquitto(dir, conf, ports));
  }

  protected async launch(): Promise<void> {
    this.proc = new ManagedProcess('mosquitto', ['-c', this.conf], { logFile: path.join(this.dir, 'mosquitto.log') });
    const proc = this.proc;
    await waitFor(async () => {
      if (!proc.running) throw new Error(`mosquitto exited: ${proc.output()}`);
      for (const p of this.ports) if (!(await canConnect(p))) return false;
      return true;
    }, { timeoutMs: 10000, what: `mosquitto on ports ${this.ports.join(', ')}`, detail: () => proc.output() });
  }
}
