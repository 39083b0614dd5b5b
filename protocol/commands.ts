/**
 * Host commands (C frames): the rules for their arguments, applied the same way to a
 * decoded line, to a command the bridge receives as JSON, and before encoding one. The
 * MCU's compact parser (firmware/src/mcu-codec.ts) reproduces these rules; a
 * differential test keeps the two in agreement.
 */
import { COMMANDS, FORCE_ARGS, LIMITS, MODES, SET_ARGS } from './spec';
import type { CommandName, CrcFn, ForceMode } from './spec';
import type { Command, CommandCheck, ForceCommand, SetCommand } from './frames';
import { FieldReader, WireMap } from './field-reader';
import { hasOwn, isKey, quoted } from './scan';
import { cannotEncode, frameLine, shortestDecimal, tokenText, unsignedText } from './encode';

function limited(c: FieldReader, arg: string): number {
  return c.decimal(arg, LIMITS[arg][0], LIMITS[arg][1]);
}

/** validateCommand without its guard against hostile objects. */
export function checkCommand(input: unknown): CommandCheck {
  if (typeof input !== 'object' || input === null) return { ok: false, reason: 'malformed', detail: 'a command must be an object' };
  const o = input as WireMap;
  const c = new FieldReader(o, 'C');
  const name = c.oneOf('cmd', COMMANDS) as CommandName;
  if (c.err) return { ok: false, reason: c.err.reason, detail: c.err.detail };
  const takes = name === 'set' ? SET_ARGS : name === 'force' ? FORCE_ARGS : '|';
  for (const k in o) {
    if (k === 'cmd' || !hasOwn(o, k) || o[k] === undefined) continue;
    if (!isKey(k) || takes.indexOf('|' + k + '|') < 0) return { ok: false, reason: 'bad_value', detail: name + ' does not take ' + quoted(k) };
  }
  let command: Command;
  if (name === 'set') {
    const s: SetCommand = { cmd: 'set' };
    if (c.has('bon')) s.bon = limited(c, 'bon');
    if (c.has('boff')) s.boff = limited(c, 'boff');
    if (c.has('sdn')) s.sdn = limited(c, 'sdn');
    if (c.has('sup')) s.sup = limited(c, 'sup');
    if (c.has('dwell')) s.dwell = limited(c, 'dwell');
    if (c.has('period')) s.period = limited(c, 'period');
    if (!c.err) {
      if (s.bon === undefined && s.boff === undefined && s.sdn === undefined && s.sup === undefined && s.dwell === undefined && s.period === undefined) {
        c.fail('missing_field', 'set needs at least one of bon boff sdn sup dwell period');
      } else if (s.bon !== undefined && s.boff !== undefined && !(s.bon < s.boff)) {
        c.fail('bad_value', 'bon ' + s.bon + ' must be below boff ' + s.boff);
      } else if (s.sdn !== undefined && s.sup !== undefined && !(s.sdn < s.sup)) {
        c.fail('bad_value', 'sdn ' + s.sdn + ' must be below sup ' + s.sup);
      }
    }
    command = s;
  } else if (name === 'force') {
    const f: ForceCommand = { cmd: 'force', mode: c.oneOf('mode', MODES) as ForceMode };
    if (!c.err) {
      if (f.mode === 'auto') {
        if (c.has('for')) c.fail('bad_value', 'force auto takes no for');
      } else if (!c.has('for')) {
        c.fail('missing_field', 'force ' + f.mode + ' needs for (seconds)');
      } else {
        f['for'] = limited(c, 'for');
      }
    }
    command = f;
  } else {
    command = { cmd: name };
  }
  // Through a call: the early return above made TypeScript narrow c.err to null.
  const err = c.failure();
  return err ? { ok: false, reason: err.reason, detail: err.detail } : { ok: true, command: command };
}

/**
 * Validates a command given as { cmd, ...arguments } under their wire names (no id),
 * with numbers as numbers or decimal strings. The bridge runs MQTT commands through it
 * before forwarding; the decoder applies exactly the same rules to C frames.
 */
export function validateCommand(input: unknown): CommandCheck {
  try {
    return checkCommand(input);
  } catch (e) {
    // Only reachable through hostile objects (throwing getters, odd prototypes).
    return { ok: false, reason: 'malformed', detail: 'unreadable command' };
  }
}

/**
 * Commands that hand the MCU's console (and with it its firmware) to whoever holds its
 * port: after `console` the Espruino REPL runs on the port and the MCU answers no more
 * commands until it resets. Only the local flashing tool may send them, over the serial
 * port it holds; a bridge never forwards them from the network.
 */
export const HANDOVER_COMMANDS = '|console|';

/** Whether `cmd` is one of HANDOVER_COMMANDS (exact name; anything else is not a command anyway). */
export function handsOverMcu(cmd: unknown): boolean {
  return typeof cmd === 'string' && cmd.length > 0 && cmd.indexOf('|') < 0 && HANDOVER_COMMANDS.indexOf('|' + cmd + '|') >= 0;
}

/** Every command argument, in the order an encoded C frame lists them. */
const COMMAND_ARGS = ['bon', 'boff', 'sdn', 'sup', 'dwell', 'period', 'mode', 'for'];

/** Validates like the decoder will (throws if it would not accept it), then encodes. */
export function encodeCommand(c: Command & { id: number }, crc?: CrcFn): string {
  const src = c as unknown as WireMap;
  const wire: WireMap = { cmd: c.cmd };
  let s = 'C,v=1,id=' + unsignedText(c.id, 1, 'id') + ',cmd=' + tokenText(c.cmd, 'cmd');
  for (let i = 0; i < COMMAND_ARGS.length; i++) {
    const k = COMMAND_ARGS[i];
    const v = src[k];
    if (v === undefined) continue;
    const w = typeof v === 'number' ? shortestDecimal(v) : typeof v === 'string' ? v : '';
    wire[k] = w;
    s += ',' + k + '=' + w;
  }
  // The wire strings themselves are checked, so rounding in shortestDecimal cannot slip through.
  const check = checkCommand(wire);
  if (!check.ok) cannotEncode('command', check.reason + ': ' + check.detail);
  return frameLine(s, crc);
}
