/**
 * The lifecycle shared by the services the tests run as real processes (mosquitto,
 * influxd, victoria-metrics): one process, one private temp directory, and the fault
 * operations the tests need — graceful stop, SIGKILL, restart on the same port and data.
 */
import { ManagedProcess } from './managed-process';
import { removeDir } from './temp-dir';

export abstract class ProcessService {
  protected proc: ManagedProcess | null = null;

  protected constructor(readonly dir: string, private readonly stopGraceMs = 5000) {}

  /** Starts the process (again) and waits until it serves. */
  protected abstract launch(): Promise<void>;

  /** A freshly constructed service, launched; on failure its process and directory are cleaned up. */
  protected static async launched<T extends ProcessService>(s: T): Promise<T> {
    try {
      await s.launch();
    } catch (e) {
      await s.kill();
      removeDir(s.dir);
      throw e;
    }
    return s;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  logs(): string {
    return this.proc?.output() ?? '';
  }

  /** Graceful stop (SIGTERM): the service saves what it keeps. */
  async stop(): Promise<void> {
    await this.proc?.stop(this.stopGraceMs);
  }

  /** SIGKILL: anything not yet saved is gone. */
  async kill(): Promise<void> {
    await this.proc?.kill();
  }

  /** Starts again on the same port with the same data. */
  async restart(): Promise<void> {
    if (this.running) await this.stop();
    await this.launch();
  }

  async dispose(): Promise<void> {
    await this.stop();
    removeDir(this.dir);
  }
}
