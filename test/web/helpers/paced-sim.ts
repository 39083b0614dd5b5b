/**
 * The simulated plant and MCU (real firmware bundle) behind a TCP port, paced by the test:
 * fast-forwarded in chunks to fill the spool with hours of readings, then run at a chosen
 * speed, and paused when the test needs nothing to move.
 */
import fs from 'node:fs';
import { SerialEndpoint, startTcpEndpoint } from '../../../simulator/endpoints';
import { SCENARIOS } from '../../../simulator/scenarios';
import { Simulation } from '../../../simulator/simulation';
import { ensureFirmwareBundle } from '../../helpers/firmware-bundle';
import { sleep } from '../../helpers/services';

export class PacedSim {
  paused = true;
  speed = 1;
  private target = 0;
  private readonly timer: NodeJS.Timeout;

  private constructor(readonly sim: Simulation, readonly endpoint: SerialEndpoint) {
    this.target = sim.clock.now;
    this.timer = setInterval(() => {
      if (this.paused || this.sim.done) return;
      this.target += 0.05 * this.speed;
      this.sim.runUntil(this.target);
    }, 50);
  }

  static async start(startHour: number, hours: number): Promise<PacedSim> {
    let endpoint: SerialEndpoint | null = null;
    const sim = new Simulation({
      scenario: { ...SCENARIOS.day, startHour }, seed: 7, hours,
      firmware: { code: fs.readFileSync(ensureFirmwareBundle(), 'utf8'), filename: 'firmware.js' },
      onSerial: (d) => endpoint?.write(d),
    });
    endpoint = await startTcpEndpoint('127.0.0.1', 0, (d) => sim.hostInput(d));
    return new PacedSim(sim, endpoint);
  }

  /** Runs `seconds` of plant time in 5-minute chunks, letting the bridge read between them. */
  async fastForward(seconds: number): Promise<void> {
    const end = this.sim.clock.now + seconds;
    while (this.sim.clock.now < end && !this.sim.done) {
      this.sim.runUntil(Math.min(end, this.sim.clock.now + 300));
      await sleep(40);
    }
    this.target = this.sim.clock.now;
  }

  run(speed: number): void {
    this.speed = speed;
    this.target = this.sim.clock.now;
    this.paused = false;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.endpoint.close();
  }
}
