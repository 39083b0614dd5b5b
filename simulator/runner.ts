/**
 * Paced running: virtual time follows the wall clock × speed, so a bridge on an
 * endpoint sees frames arrive as from hardware (speed 1) or a day in minutes. Waiting
 * happens in short sleeps, which is also when endpoint sockets get their turn.
 */
import { performance } from 'node:perf_hooks';
import type { Simulation } from './simulation';

export interface PacedOptions {
  /** Multiple of real time, > 0. */
  speed: number;
  /** Polled between steps; true stops the run early. */
  stop?: () => boolean;
  /** Called after each step with the fraction done. */
  onProgress?: (fraction: number) => void;
}

export async function runPaced(sim: Simulation, options: PacedOptions): Promise<void> {
  const { speed } = options;
  if (!(speed > 0)) throw new RangeError(`speed must be above 0, got ${speed}`);
  const wallStart = performance.now();
  const virtualStart = sim.clock.now;
  while (!sim.done && !(options.stop?.() ?? false)) {
    sim.runUntil(virtualStart + (performance.now() - wallStart) / 1000 * speed);
    options.onProgress?.(sim.clock.now / sim.endS);
    if (sim.done) break;
    const next = Math.min(sim.nextEventTime(), sim.endS) - virtualStart;
    const waitMs = Math.max(1, Math.min(50, next / speed * 1000 - (performance.now() - wallStart)));
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
  sim.finish();
}
