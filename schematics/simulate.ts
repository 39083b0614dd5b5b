/**
 * Runs the netlists through ngspice and reduces each sweep to what the design promises:
 * trip points, the largest comparator input, and the REMOTE level.
 *
 *   npx ts-node schematics/simulate.ts     prints the trip-point table and REMOTE levels
 */
import {
  COMPARATOR_BOARD, ComparatorBoardParts, DEFAULT_THRESHOLDS, REMOTE_DRIVER, comparatorTripPoints,
} from '../hardware';
import {
  BoardSweepOptions, ChannelId, DEFAULT_BOARD_SWEEP, DEFAULT_SWEEP, MCU_PIN_MODEL, McuPinModel, RemoteDriverParts, SweepOptions,
  boardNetlist, channelInput, channelNetlist, remoteDriverNetlist,
} from './netlists';
import { Columns, RemoteLevel, RunOptions, SimulatedTrips, column, remoteLevel, runNgspice, tripPoints } from './run-ngspice';

export interface ChannelSimulation {
  id: ChannelId;
  input: number[];
  inPlus: number[];
  vref: number[];
  out: number[];
  /** VCC − 1.5 V − max(IN+, IN−) from the model: negative = outside the LM393's input range. */
  headroom: number[];
  trips: SimulatedTrips;
}

function suffix(id: ChannelId): string {
  return id === 'battery' ? 'b' : 's';
}

export async function simulateChannel(
  board: ComparatorBoardParts, id: ChannelId, sweep: SweepOptions = DEFAULT_SWEEP, run: RunOptions = {},
): Promise<ChannelSimulation> {
  const net = channelNetlist(board, id, sweep);
  const d = (await runNgspice(net, run)).data[net.dataFiles[0]];
  const s = suffix(id);
  const input = column(d, `v(${channelInput(id).node})`);
  const out = column(d, `v(out_${s})`);
  return {
    id,
    input,
    inPlus: column(d, `v(inp_${s})`),
    vref: column(d, 'v(vref)'),
    out,
    headroom: column(d, `v(cmm_${s})`),
    trips: tripPoints(input, out, board.vcc),
  };
}

export interface BoardSimulation {
  cols: Columns;
  vbat: number[];
  vpanel: number[];
  vcc: number[];
  remote: number[];
  outB: number[];
  outS: number[];
  inputs: number[][];
  headroom: number[][];
  battery: SimulatedTrips;
  sun: SimulatedTrips;
}

export async function simulateBoard(
  board: ComparatorBoardParts, driver: RemoteDriverParts = REMOTE_DRIVER,
  sweep: BoardSweepOptions = DEFAULT_BOARD_SWEEP, run: RunOptions = {},
): Promise<BoardSimulation> {
  const net = boardNetlist(board, driver, sweep);
  const d = (await runNgspice(net, run)).data[net.dataFiles[0]];
  const vbat = column(d, 'v(vbat)');
  const vpanel = column(d, 'v(vpanel)');
  const outB = column(d, 'v(out_b)');
  const outS = column(d, 'v(out_s)');
  return {
    cols: d,
    vbat, vpanel, outB, outS,
    vcc: column(d, 'v(vcc)'),
    remote: column(d, 'v(remote)'),
    inputs: [column(d, 'v(inp_b)'), column(d, 'v(inp_s)'), column(d, 'v(vref)')],
    headroom: [column(d, 'v(cmm_b)'), column(d, 'v(cmm_s)')],
    battery: tripPoints(vbat, outB, board.vcc),
    sun: tripPoints(vpanel, outS, board.vcc),
  };
}

export interface DriverSimulation {
  /** Pin driven by the MCU: the ideal level swept 0 → 3.3 V, and REMOTE at each. */
  drivenLevel: number[];
  drivenRemote: number[];
  /** Pin floating (high impedance plus leakage): REMOTE, whatever was behind the pin. */
  floatingRemote: number[];
  floatingPin: number[];
}

export async function simulateRemoteDriver(
  driver: RemoteDriverParts = REMOTE_DRIVER, pin: McuPinModel = MCU_PIN_MODEL, run: RunOptions = {},
): Promise<DriverSimulation> {
  const net = remoteDriverNetlist(driver, pin);
  const r = await runNgspice(net, run);
  const driven = r.data[net.dataFiles[0]];
  const floating = r.data[net.dataFiles[1]];
  return {
    drivenLevel: column(driven, 'v(drv)'),
    drivenRemote: column(driven, 'v(remote)'),
    floatingRemote: column(floating, 'v(remote)'),
    floatingPin: column(floating, 'v(pin)'),
  };
}

/** REMOTE at the driven pin level nearest to `v`. */
export function drivenRemoteAt(sim: DriverSimulation, v: number): number {
  let best = 0;
  for (let i = 1; i < sim.drivenLevel.length; i++) {
    if (Math.abs(sim.drivenLevel[i] - v) < Math.abs(sim.drivenLevel[best] - v)) best = i;
  }
  return sim.drivenRemote[best];
}

export interface TripRow {
  threshold: 'batteryOnV' | 'batteryOffV' | 'sunDownV' | 'sunUpV';
  meaning: string;
  spiceV: number;
  computedV: number;
  firmwareV: number;
}

/** Single value from a one-cycle sweep; anything else means the channel did not switch cleanly. */
function only(list: number[], what: string): number {
  if (list.length !== 1) throw new Error(`${what}: expected one crossing, got ${list.length} (${list.join(', ')})`);
  return list[0];
}

/** SPICE vs comparatorTripPoints vs DEFAULT_THRESHOLDS, for the README and the report. */
export async function tripTable(board: ComparatorBoardParts = COMPARATOR_BOARD, run: RunOptions = {}): Promise<TripRow[]> {
  const [b, s] = await Promise.all([simulateChannel(board, 'battery', DEFAULT_SWEEP, run), simulateChannel(board, 'sun', DEFAULT_SWEEP, run)]);
  const bc = comparatorTripPoints(board, board.battery);
  const sc = comparatorTripPoints(board, board.sun);
  return [
    { threshold: 'batteryOnV', meaning: 'battery falling: charger ON', spiceV: only(b.trips.falling, 'battery falling'), computedV: bc.fallingV, firmwareV: DEFAULT_THRESHOLDS.batteryOnV },
    { threshold: 'batteryOffV', meaning: 'battery rising: released', spiceV: only(b.trips.rising, 'battery rising'), computedV: bc.risingV, firmwareV: DEFAULT_THRESHOLDS.batteryOffV },
    { threshold: 'sunDownV', meaning: 'panel falling: charger ON', spiceV: only(s.trips.falling, 'sun falling'), computedV: sc.fallingV, firmwareV: DEFAULT_THRESHOLDS.sunDownV },
    { threshold: 'sunUpV', meaning: 'panel rising: released', spiceV: only(s.trips.rising, 'sun rising'), computedV: sc.risingV, firmwareV: DEFAULT_THRESHOLDS.sunUpV },
  ];
}

export function relativeError(a: number, b: number): number {
  return Math.abs(a - b) / Math.abs(b);
}

export function tripTableMarkdown(rows: TripRow[]): string {
  const lines = [
    '| threshold | meaning | SPICE (ngspice) | computed (comparatorTripPoints) | firmware default (DEFAULT_THRESHOLDS) | SPICE vs computed |',
    '|---|---|---:|---:|---:|---:|',
    ...rows.map((r) => `| \`${r.threshold}\` | ${r.meaning} | ${r.spiceV.toFixed(3)} V | ${r.computedV.toFixed(3)} V | ${r.firmwareV.toFixed(3)} V | ${(100 * (r.spiceV - r.computedV) / r.computedV).toFixed(3)} % |`),
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const rows = await tripTable();
  console.log(tripTableMarkdown(rows));
  const driver = await simulateRemoteDriver();
  const level = (v: number): string => `${v.toFixed(3)} V (${remoteLevel(v)})`;
  console.log('\nREMOTE driver');
  console.log(`  pin floating: ${level(driver.floatingRemote[0])}`);
  console.log(`  pin low 0 V:  ${level(drivenRemoteAt(driver, 0))}`);
  console.log(`  pin high:     ${level(drivenRemoteAt(driver, driver.drivenLevel[driver.drivenLevel.length - 1]))}`);
  const board = await simulateBoard(COMPARATOR_BOARD);
  const seen = new Set<RemoteLevel>(board.remote.map(remoteLevel));
  console.log(`\nComparator board sweep: REMOTE levels seen: ${[...seen].join(', ')}`);
}

if (require.main === module) {
  main().catch((err) => { console.error(err instanceof Error ? err.message : err); process.exitCode = 1; });
}
