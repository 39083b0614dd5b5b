/**
 * The four schematic drawings, laid out by hand on a fixed grid but labelled entirely
 * from the same parts objects the netlists are built from, so a value changed in
 * hardware/system.ts changes the drawing, the netlist and the firmware thresholds at once.
 * Part names match the netlists' element names (RTOPB in the drawing is RTOPB in the .cir).
 */
import {
  ComparatorBoardParts, MAINS_CHARGER, comparatorInputV, comparatorTripPoints, referenceVoltage,
} from '../hardware';
import {
  ChannelId, HEP600_REMOTE_LOAD_OHMS, MCU_PIN_MODEL, REGULATOR_DROPOUT_V, RemoteDriverParts, channelInput, potHalves,
} from './netlists';
import { Sheet, ohms, volts } from './svg';

function channelSuffix(id: ChannelId): string {
  return id === 'battery' ? 'B' : 'S';
}

/** REMOTE with both comparators released (or Q1 off): the pull-up against the HEP-600's input. */
export function remoteOffLevel(supplyV: number, pullupOhms: number): number {
  return supplyV * HEP600_REMOTE_LOAD_OHMS / (HEP600_REMOTE_LOAD_OHMS + pullupOhms);
}

/** Smallest REMOTE load resistance that still leaves the OFF level above the HEP-600's OFF threshold. */
export function minimumRemoteLoadOhms(supplyV: number, pullupOhms: number): number {
  const off = MAINS_CHARGER.remoteOffAboveV;
  return pullupOhms * off / (supplyV - off);
}

export function channelDrawing(board: ComparatorBoardParts, id: ChannelId): string {
  const ch = board[id];
  const sfx = channelSuffix(id);
  const input = channelInput(id);
  const trips = comparatorTripPoints(board, ch);
  const vref = referenceVoltage(board);
  const maxInPlus = Math.max(comparatorInputV(board, ch, input.max, false), comparatorInputV(board, ch, input.max, true));
  const pot = potHalves(ch);
  const what = id === 'battery' ? 'battery' : 'panel';
  const s = new Sheet(1000, 640, `${id === 'battery' ? 'Battery' : 'Sun'} comparator`);
  s.text(20, 30, `${id === 'battery' ? 'Battery' : 'Sun'} comparator (XU1${sfx}, one half of the LM393) — ${id}-comparator.cir`, { bold: true, size: 18 });
  s.text(20, 52, `OUT goes low (charger ON) when the ${what} falls below ${volts(trips.fallingV, 3)}; it is released when the ${what} rises above ${volts(trips.risingV, 3)}.`, { size: 13 });

  // Sensed voltage and its divider with the trim pot.
  s.source([140, 200], [140, 330], 'VIN', [input.node.toUpperCase(), `${input.min} → ${input.max} → ${input.min} V`], 'left');
  s.wire([140, 200], [140, 130], [290, 130]);
  s.ground([140, 330]);
  s.netLabel([215, 130], input.node.toUpperCase());
  s.resistor([290, 130], [290, 220], `RTOP${sfx}`, ohms(ch.rTop), 'left');
  const wiper = s.pot([290, 220], [290, 320], `RPOT${sfx}`, [ohms(ch.rPot), `wiper at ${ch.potWiper.toFixed(3)}`], 'left');
  s.resistor([290, 320], [290, 410], `RBOT${sfx}`, ohms(ch.rBottom), 'left');
  s.ground([290, 410]);

  // Wiper → Rin → IN+, with the feedback from OUT.
  s.wire(wiper, [350, 270]);
  s.resistor([350, 270], [460, 270], `RIN${sfx}`, ohms(ch.rIn));
  const u = s.comparator(600, 300, true, `XU1${sfx}`, ['LM393, open collector']);
  s.wire([460, 270], u.plus);
  s.dot([510, 270]);
  s.text(545, 262, 'IN+', { bold: true, size: 12, anchor: 'middle' });
  s.wire([510, 270], [510, 170]);
  s.resistor([510, 170], [770, 170], `RFB${sfx}`, `${ohms(ch.rFeedback)} (hysteresis)`);
  s.wire([770, 170], [770, 300]);
  s.dot([770, 300]);
  s.wire(u.out, [940, 300]);
  s.supply([850, 90], `+${board.vcc} V`);
  s.resistor([850, 90], [850, 220], `RPU${sfx}`, ohms(ch.rPullup), 'right');
  s.wire([850, 220], [850, 300]);
  s.dot([850, 300]);
  s.netLabel([905, 300], `OUT_${sfx}`);

  // REMOTE through this channel's Schottky: with OUT low the transistor sinks REMOTE's pull-up
  // current too, and that sets V_OL and so the rising trip.
  s.dot([900, 300]);
  s.diode([900, 400], [900, 300], `D${sfx}`, 'Schottky', 'right');
  s.dot([900, 400]);
  s.text(910, 420, 'REMOTE', { bold: true, size: 12, color: '#1f4e9c' });
  s.wire([900, 400], [800, 400]);
  s.supply([800, 330], `+${board.vcc} V`);
  s.resistor([800, 330], [800, 400], 'RREM', ohms(board.rRemotePullup), 'left');
  s.wire([900, 400], [900, 470]);
  s.resistor([900, 470], [900, 560], 'RHEP', [ohms(HEP600_REMOTE_LOAD_OHMS), '(assumed)'], 'right');
  s.ground([900, 560]);

  // Reference divider into IN−.
  s.supply([460, 330], `+${board.vcc} V`);
  s.resistor([460, 330], [460, 420], 'RREFT', ohms(board.rRefTop), 'left');
  s.dot([460, 420]);
  s.wire([460, 420], [560, 420], [560, 330], u.minus);
  s.netLabel([510, 420], `Vref ${volts(vref, 3)}`, 'below');
  s.resistor([460, 420], [460, 510], 'RREFB', ohms(board.rRefBottom), 'left');
  s.ground([460, 510]);

  s.note(20, 480, [
    'Computed trip points (hardware/comparator.ts)',
    `falls below ${volts(trips.fallingV, 3)} → OUT low → charger ON`,
    `rises above ${volts(trips.risingV, 3)} → OUT released`,
    `IN+ ≤ ${volts(maxInPlus, 2)} at ${input.max} V; LM393 limit ${volts(board.vcc - board.inputHeadroomV, 2)}`,
    `LM393 typical: V_OL = ${ohms(board.outputOnOhms)} × sink current, bias ${(board.inputBiasA * 1e9).toFixed(0)} nA;`,
    `IBOTHER is the other channel's IN− bias, also drawn from Vref.`,
    `RPOT${sfx} in the netlist: RPOTU${sfx} ${ohms(pot.upper)} above the wiper,`,
    `RPOTL${sfx} ${ohms(pot.lower)} below it.`,
  ]);
  return s.render();
}

export function boardDrawing(board: ComparatorBoardParts, driver: RemoteDriverParts): string {
  const bt = comparatorTripPoints(board, board.battery);
  const st = comparatorTripPoints(board, board.sun);
  const vref = referenceVoltage(board);
  const bat = channelInput('battery');
  const pan = channelInput('sun');
  const s = new Sheet(1180, 660, 'Comparator board');
  s.text(20, 30, 'Comparator board: two LM393 channels, diode-OR into the HEP-600C-12 REMOTE line — comparator-board.cir', { bold: true, size: 18 });
  s.text(20, 52, 'Either channel low pulls REMOTE low (charger ON); only with both released does the pull-up take REMOTE high (charger OFF).', { size: 13 });

  // Supply: battery → regulator → +5 V rail.
  s.source([50, 190], [50, 310], 'VBAT', [`${bat.min}–${bat.max} V`], 'right');
  s.ground([50, 310]);
  s.wire([50, 190], [50, 110], [110, 110]);
  s.netLabel([80, 110], 'VBAT');
  s.box(110, 80, 130, 60, ['U2 LM78C05', `${board.vcc} V, ${REGULATOR_DROPOUT_V} V dropout`]);
  s.ground([175, 140]);
  s.wire([240, 110], [880, 110]);
  s.netLabel([280, 110], `+${board.vcc} V`);

  s.source([50, 400], [50, 520], 'VPANEL', [`${pan.min}–${pan.max} V`], 'right');
  s.ground([50, 520]);
  s.wire([50, 400], [50, 370], [120, 370]);
  s.netLabel([120, 370], 'VPANEL', 'right');

  // Reference divider shared by both IN− inputs.
  s.dot([330, 110]);
  s.resistor([330, 110], [330, 210], 'RREFT', ohms(board.rRefTop), 'left');
  s.dot([330, 210]);
  s.resistor([330, 210], [330, 310], 'RREFB', ohms(board.rRefBottom), 'left');
  s.ground([330, 310]);
  s.wire([330, 210], [450, 210], [450, 410], [480, 410]);
  s.wire([450, 250], [480, 250]);
  s.dot([450, 250]);
  s.text(390, 230, `Vref ${volts(vref, 3)}`, { anchor: 'middle', size: 12, bold: true, color: '#1f4e9c' });

  // The two channels as blocks; their insides are in the channel drawings.
  s.box(480, 160, 240, 120, ['Battery comparator XU1B', 'inside: battery-comparator.svg', `falls < ${volts(bt.fallingV)} → OUT_B low`, `rises > ${volts(bt.risingV)} → released`]);
  s.wire([440, 190], [480, 190]);
  s.netLabel([440, 190], 'VBAT', 'left');
  s.dot([600, 110]);
  s.wire([600, 110], [600, 160]);

  s.box(480, 380, 240, 120, ['Sun comparator XU1S', 'inside: sun-comparator.svg', `falls < ${volts(st.fallingV)} → OUT_S low`, `rises > ${volts(st.risingV)} → released`]);
  s.wire([430, 470], [480, 470]);
  s.netLabel([430, 470], 'VPANEL', 'left');
  s.supply([600, 355], `+${board.vcc} V`);
  s.wire([600, 355], [600, 380]);

  // Diode-OR into REMOTE with its pull-up.
  s.wire([720, 220], [780, 220]);
  s.netLabel([750, 220], 'OUT_B');
  s.diode([880, 220], [780, 220], 'DB', 'Schottky', 'below');
  s.wire([720, 440], [780, 440]);
  s.netLabel([750, 440], 'OUT_S');
  s.diode([880, 440], [780, 440], 'DS', 'Schottky', 'below');
  s.dot([880, 110]);
  s.resistor([880, 110], [880, 220], 'RREM', `${ohms(driver.rRemotePullup)} pull-up`, 'right');
  s.dot([880, 220]);
  s.wire([880, 220], [880, 440]);
  s.dot([880, 330]);
  s.wire([880, 330], [950, 330]);
  s.netLabel([915, 330], 'REMOTE');

  s.box(950, 260, 210, 230, ['HEP-600C-12', 'REMOTE+ input']);
  s.wire([950, 330], [1000, 330]);
  s.resistor([1000, 330], [1000, 420], 'RHEP', [ohms(HEP600_REMOTE_LOAD_OHMS), '(assumed load)'], 'right');
  s.ground([1000, 420]);
  s.text(960, 470, `ON < ${MAINS_CHARGER.remoteOnBelowV} V, OFF > ${MAINS_CHARGER.remoteOffAboveV} V`, { size: 12 });

  const off = remoteOffLevel(board.vcc, driver.rRemotePullup);
  s.note(20, 570, [
    'How it switches',
    `Charger ON (REMOTE low) while VBAT < ${volts(bt.fallingV)} until it rises past ${volts(bt.risingV)}, OR while VPANEL < ${volts(st.fallingV)} until it rises past ${volts(st.risingV)}.`,
    `Both released: REMOTE = ${board.vcc} V × ${ohms(HEP600_REMOTE_LOAD_OHMS)} / (${ohms(HEP600_REMOTE_LOAD_OHMS)} + ${ohms(driver.rRemotePullup)}) = ${volts(off)} → charger OFF.`,
    'Each OUT keeps its own pull-up (channel drawings): the diodes stop REMOTE from reaching the other channel\'s feedback.',
  ]);
  return s.render();
}

export function remoteDriverDrawing(driver: RemoteDriverParts): string {
  const s = new Sheet(1000, 620, 'Default-ON REMOTE driver');
  s.text(20, 30, `Default-ON REMOTE driver (MCU side) — remote-driver.cir`, { bold: true, size: 18 });
  s.text(20, 52, `Pin floating or low → Q2 off → Q1 on → REMOTE low → charger ON.  Pin high (${MCU_PIN_MODEL.highV} V) → Q2 on → Q1 off → REMOTE high → charger OFF.`, { size: 13 });

  s.supply([420, 120], `+${driver.supplyV} V`);
  s.resistor([420, 120], [420, 250], 'RB1', `${ohms(driver.rBaseQ1)} (Q1 base feed)`, 'left');
  s.wire([420, 250], [420, 270]);
  s.dot([420, 270]);
  const q2 = s.npn([408, 360], 'Q2', driver.transistor);
  s.wire(q2.collector, [420, 270]);
  s.ground(q2.emitter);
  const q1 = s.npn([588, 270], 'Q1', driver.transistor);
  s.wire([420, 270], q1.base);
  s.ground(q1.emitter);

  s.supply([600, 95], `+${driver.supplyV} V`);
  s.resistor([600, 95], [600, 180], 'RREM', `${ohms(driver.rRemotePullup)} pull-up`, 'left');
  s.wire([600, 180], q1.collector);
  s.dot([600, 180]);
  s.wire([600, 180], [800, 180]);
  s.netLabel([700, 180], 'REMOTE');

  s.box(800, 130, 190, 190, ['HEP-600C-12', 'REMOTE+']);
  s.wire([800, 180], [840, 180]);
  s.resistor([840, 180], [840, 270], 'RHEP', [ohms(HEP600_REMOTE_LOAD_OHMS), '(assumed)'], 'right');
  s.ground([840, 270]);
  s.text(810, 312, `ON < ${MAINS_CHARGER.remoteOnBelowV} V, OFF > ${MAINS_CHARGER.remoteOffAboveV} V`, { size: 12 });

  s.box(30, 320, 140, 90, [`MCU pin ${driver.pin}`, 'Espruino Pico', `${MCU_PIN_MODEL.highV} V logic`]);
  s.resistor([170, 360], [300, 360], 'RB2', ohms(driver.rBaseQ2));
  s.wire([300, 360], q2.base);
  s.dot([330, 360]);
  s.resistor([330, 360], [330, 460], 'RPD', `${ohms(driver.rPulldownQ2)}`, 'left');
  s.ground([330, 460]);

  const off = remoteOffLevel(driver.supplyV, driver.rRemotePullup);
  s.note(20, 520, [
    'Why it is default-ON',
    `Reset, hung or unpowered MCU: the pin floats, RPD holds Q2 off, RB1 saturates Q1: REMOTE ≈ 0 V, charger ON.`,
    `The MCU must drive ${driver.pin} high (level ${driver.chargerOffLevel}) to turn the charger OFF: REMOTE then rises to ${volts(off)} (pull-up against the REMOTE load).`,
    `The OFF level stays above ${MAINS_CHARGER.remoteOffAboveV} V only while the REMOTE input loads it with ≥ ${ohms(minimumRemoteLoadOhms(driver.supplyV, driver.rRemotePullup))}.`,
  ]);
  return s.render();
}
