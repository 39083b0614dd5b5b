/**
 * Drives a fault run: the simulation in virtual-time chunks as fast as the bridge keeps
 * up, and faults applied at virtual hours. Killing the bridge and dropping its link wait
 * until it has read every reading sent to it (see the fault suite for why).
 */
import type { SerialEndpoint } from '../../../simulator/endpoints';
import type { Simulation } from '../../../simulator/simulation';
import { sleep, waitFor } from '../../helpers/services';
import type { BridgeUnderTest } from './bridge-under-test';
import type { EmittedFrames } from './emitted-frames';

export interface FaultAt<F extends string> {
  atHour: number;
  fault: F;
}

export class ChainDriver {
  /** Readings emitted before the running bridge process connected. */
  private emittedAtConnect = 0;
  /** Faults applied, by kind. */
  readonly applied: { [kind: string]: number } = {};

  constructor(
    private readonly sim: Simulation,
    private readonly endpoint: SerialEndpoint,
    private readonly bridge: BridgeUnderTest,
    private readonly emitted: EmittedFrames,
  ) {}

  /** Readings the running bridge process has been sent. */
  sentToBridge(): number {
    return this.emitted.readings.length - this.emittedAtConnect;
  }

  async connectBridge(): Promise<void> {
    await this.bridge.start();
    await this.bridge.waitUntil('the bridge to open the MCU port', (c) => c.sourceUp === 1, 15000);
    await waitFor(() => this.endpoint.clients === 1, { timeoutMs: 15000, what: 'one client on the MCU port' });
    this.emittedAtConnect = this.emitted.readings.length;
  }

  async readAllSent(): Promise<void> {
    const want = this.sentToBridge();
    await this.bridge.waitUntil(`the bridge to read all ${want} readings sent to it`, (c) => c.readings === want, 30000);
  }

  async killAndRestartBridge(): Promise<void> {
    await this.readAllSent();
    await this.bridge.kill();
    await this.connectBridge();
  }

  /** The link ends cleanly from the MCU side; the bridge must reconnect and miss nothing. */
  async dropLink(): Promise<void> {
    await this.readAllSent();
    const before = await this.bridge.scrape();
    this.endpoint.disconnectClients();
    await this.bridge.waitUntil('the bridge to reconnect after the link dropped', (c) => c.sourceConnects > before.sourceConnects, 15000);
    await waitFor(() => this.endpoint.clients === 1, { timeoutMs: 15000, what: 'one client on the MCU port' });
  }

  count(kind: string, n = 1): void {
    this.applied[kind] = (this.applied[kind] ?? 0) + n;
  }

  /** Runs the simulation to its end, applying each fault when virtual time reaches it. */
  async run<F extends string>(faults: Array<FaultAt<F>>, apply: (f: F) => Promise<void>, o: { chunkS: number; maxLag: number }): Promise<void> {
    const pending = [...faults].sort((a, b) => a.atHour - b.atHour);
    const sim = this.sim;
    const b = this.bridge;
    while (!sim.done) {
      const nextFault = pending.length > 0 ? pending[0].atHour * 3600 : Infinity;
      sim.runUntil(Math.min(sim.clock.now + o.chunkS, nextFault));
      while (pending.length > 0 && pending[0].atHour * 3600 <= sim.clock.now) {
        const f = pending.shift()!.fault;
        this.count(f);
        await apply(f);
      }
      // Keep the bridge close enough that the port's buffer never overflows.
      if (this.sentToBridge() - (b.last?.readings ?? 0) > o.maxLag) {
        await b.waitUntil('the bridge to catch up with the MCU', (c) => this.sentToBridge() - c.readings <= o.maxLag / 3, 30000);
      } else {
        await b.scrape();
      }
      await sleep(0);
    }
    sim.finish();
    if (pending.length > 0) throw new Error(`faults never applied: ${pending.map((p) => p.fault).join(', ')}`);
  }

  /** Faults the simulation itself applied (plant, sensors, MCU), counted by kind. */
  countSimulatedFaults(): void {
    for (const e of this.sim.scenario.events) {
      if (e.action.kind !== 'command' && e.atHour * 3600 <= this.sim.clock.now) this.count(e.action.kind);
    }
    this.count('watchdog-reset', this.sim.mcu.resets.length);
  }
}
