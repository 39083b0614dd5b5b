/**
 * A real InfluxDB 1.x (Debian's influxd 1.6) on free loopback ports, in a temp directory.
 * Writes go through /write (1.6 has no /api/v2/write); queries through /query.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ManagedProcess } from './managed-process';
import { ProcessService } from './process-service';
import { freePort } from './free-port';
import { makeTempDir } from './temp-dir';
import { waitFor } from './wait-for';

export interface InfluxSeries {
  name: string;
  tags?: { [k: string]: string };
  columns: string[];
  values: unknown[][];
}

export class Influxd1Service extends ProcessService {
  private constructor(dir: string, readonly port: number, readonly rpcPort: number, readonly auth: { username: string; password: string } | null) {
    super(dir, 10000);
  }

  static async start(o: { auth?: { username: string; password: string } } = {}): Promise<Influxd1Service> {
    const s = new Influxd1Service(makeTempDir('influxd'), await freePort(), await freePort(), o.auth ?? null);
    s.writeConfig();
    await ProcessService.launched(s);
    if (s.auth) await s.rawQuery(`CREATE USER "${s.auth.username}" WITH PASSWORD '${s.auth.password}' WITH ALL PRIVILEGES`, undefined, false);
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private writeConfig(): void {
    const d = this.dir;
    fs.writeFileSync(path.join(d, 'influxdb.conf'), [
      'reporting-disabled = true',
      `bind-address = "127.0.0.1:${this.rpcPort}"`,
      '[meta]', `  dir = "${d}/meta"`, '  logging-enabled = false',
      '[data]', `  dir = "${d}/data"`, `  wal-dir = "${d}/wal"`, '  query-log-enabled = false', '  wal-fsync-delay = "0s"',
      '[monitor]', '  store-enabled = false',
      '[continuous_queries]', '  enabled = false',
      '[http]', '  enabled = true', `  bind-address = "127.0.0.1:${this.port}"`, '  log-enabled = false',
      `  auth-enabled = ${this.auth ? 'true' : 'false'}`,
      '[logging]', '  level = "warn"',
    ].join('\n') + '\n');
  }

  protected async launch(): Promise<void> {
    this.proc = new ManagedProcess('influxd', ['run', '-config', path.join(this.dir, 'influxdb.conf')], { logFile: path.join(this.dir, 'influxd.log') });
    const proc = this.proc;
    await waitFor(async () => {
      if (!proc.running) throw new Error('influxd exited');
      const r = await fetch(`${this.url}/ping`).catch(() => null);
      return r !== null && r.status === 204;
    }, { timeoutMs: 20000, what: `influxd on port ${this.port}`, detail: () => proc.output() });
  }

  private authParams(): string {
    return this.auth ? `&u=${encodeURIComponent(this.auth.username)}&p=${encodeURIComponent(this.auth.password)}` : '';
  }

  private async rawQuery(q: string, db: string | undefined, withAuth = true): Promise<{ results: Array<{ series?: InfluxSeries[]; error?: string }> }> {
    const r = await fetch(`${this.url}/query?q=${encodeURIComponent(q)}${db ? `&db=${encodeURIComponent(db)}` : ''}&epoch=ms${withAuth ? this.authParams() : ''}`, { method: 'POST' });
    const body = await r.json() as { results: Array<{ series?: InfluxSeries[]; error?: string }>; error?: string };
    if (r.status !== 200 || body.error) throw new Error(`influx query ${q}: HTTP ${r.status} ${JSON.stringify(body)}`);
    return body;
  }

  async createDatabase(db: string): Promise<void> {
    await this.rawQuery(`CREATE DATABASE "${db}"`, undefined);
  }

  /** Series of one InfluxQL statement (times as epoch ms). */
  async query(db: string, q: string): Promise<InfluxSeries[]> {
    const body = await this.rawQuery(q, db);
    const res = body.results[0];
    if (res.error) throw new Error(`influx query ${q}: ${res.error}`);
    return res.series ?? [];
  }

  /** Writes line protocol directly (for test set-up), precision ms. */
  async write(db: string, lines: string): Promise<Response> {
    return fetch(`${this.url}/write?db=${encodeURIComponent(db)}&precision=ms${this.authParams()}`, { method: 'POST', body: lines });
  }
}
