/**
 * Commands to the MCU and their answers back: the one validated path that MQTT, Home
 * Assistant's select and any other feature (core.commands) use.
 *
 * A request is JSON: {"cmd":"force","mode":"off","for":3600,"request_id":"anything"}.
 * It is checked with the protocol's own validateCommand (the rules the MCU applies), sent
 * as a C frame with a fresh protocol id, and answered exactly once (the returned promise,
 * and the transport's reply observer; MQTT publishes it on the reply topic):
 *   {"request_id":…,"id":17,"ok":true,"cmd":"force","data":{…}}            the MCU did it
 *   {"request_id":…,"id":17,"ok":false,"error":"bad_value","detail":"…"}   refused or failed
 * `error` is the MCU's err token, or the bridge's own: invalid (payload not a command),
 * forbidden (a command this path never forwards, see refusal()), unavailable (no link to
 * the MCU), busy (too many in flight), timeout (no reply in time).
 *
 * Every answer is reported to onOutcome with where the command came from (`origin`:
 * mqtt, homeassistant, web...), so refusals and results can be logged with who and why.
 *
 * The transport is injected (send a line to the MCU), so this file has no I/O and tests
 * drive it with real frames.
 */
import { Command, ReplyFrame, encodeCommand, handsOverMcu, validateCommand } from '../../../protocol';

export interface CommandReply {
  request_id?: string | number;
  id?: number;
  ok: boolean;
  cmd?: string;
  error?: string;
  detail?: string;
  data?: { [key: string]: number | string | null };
}

export type ParsedRequest =
  | { ok: true; command: Command; requestId?: string | number }
  | { ok: false; error: string; detail: string; requestId?: string | number; cmd?: string };

const MAX_REQUEST_ID = 128;

/** Why the MQTT and HTTP paths never forward a handover command, for the reply and the log. */
export function handoverRefusal(cmd: string): string {
  return `${cmd} is never forwarded from the network: it hands the MCU's console to whoever holds its port, and the MCU then answers no command until it is reset. Only \`npm run flash\` sends it, over the serial port`;
}

/** Parses and validates one command payload (MQTT, HTTP). Pure. */
export function parseCommandPayload(text: string): ParsedRequest {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: 'invalid', detail: `payload is not JSON: ${(e as Error).message}` };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    return { ok: false, error: 'invalid', detail: 'payload must be a JSON object like {"cmd":"status"}' };
  }
  const o = { ...(v as { [k: string]: unknown }) };
  // Named in refusals and logs only when it is a plausible name (bounded, printable).
  const cmd = typeof o.cmd === 'string' && /^[\x21-\x7e]{1,32}$/.test(o.cmd) ? o.cmd : undefined;
  let requestId: string | number | undefined;
  if ('request_id' in o) {
    const r = o.request_id;
    delete o.request_id;
    if ((typeof r === 'string' && r.length <= MAX_REQUEST_ID) || (typeof r === 'number' && Number.isFinite(r))) requestId = r;
    else return { ok: false, error: 'invalid', detail: `request_id must be a string of at most ${MAX_REQUEST_ID} characters or a number`, cmd };
  }
  // First, so no other fault in the payload hides why it can never be sent.
  if (handsOverMcu(o.cmd)) return { ok: false, error: 'forbidden', detail: handoverRefusal(o.cmd as string), requestId, cmd };
  if ('id' in o) {
    return { ok: false, error: 'invalid', detail: 'id is chosen by the bridge; use request_id to match replies', requestId, cmd };
  }
  for (const k of Object.keys(o)) {
    const x = o[k];
    if (typeof x !== 'string' && typeof x !== 'number') {
      return { ok: false, error: 'bad_value', detail: `${k} must be a string or a number, got ${x === null ? 'null' : typeof x}`, requestId, cmd };
    }
  }
  const check = validateCommand(o);
  if (!check.ok) return { ok: false, error: check.reason, detail: check.detail, requestId, cmd };
  return { ok: true, command: check.command, requestId };
}

export interface CommandTransport {
  /** Whether the MCU link is up right now. */
  linkUp(): boolean;
  /** Writes a line (with its newline) to the MCU. */
  send(line: string): Promise<void>;
  /** Sees every reply, whoever asked (optional: each request's promise has its own). */
  reply?(r: CommandReply): void;
}

export interface RouterOptions {
  timeoutMs: number;
  maxPending: number;
  /** First protocol id; the bridge starts from the clock so a restart does not reuse recent ids. */
  firstId: number;
  /**
   * The source's silence limit (0 = none): a `set period` so long that readings come
   * further apart than half of it is refused, since the bridge would then take the
   * link for dead between readings, reopen it over and over and lose what comes meanwhile.
   */
  silenceLimitMs?: number;
}

/** Where a command came from, for logs: `mqtt`, `homeassistant`, `web`, a feature's name. */
export type CommandOrigin = string;

interface Pending {
  requestId?: string | number;
  cmd: string;
  origin: CommandOrigin;
  timer: NodeJS.Timeout;
  answer: (r: CommandReply) => void;
}

export type CommandOutcome = 'ok' | 'failed' | 'invalid' | 'forbidden' | 'timeout' | 'unavailable' | 'busy';

/** One answer as onOutcome sees it. */
export interface CommandReport {
  outcome: CommandOutcome;
  reply: CommandReply;
  origin: CommandOrigin;
  /** The payload as received, when it never became a command (for a bounded excerpt in the log). */
  payload?: string;
}

export class CommandRouter {
  private nextId: number;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly transport: CommandTransport,
    private readonly options: RouterOptions,
    private readonly onOutcome: (report: CommandReport) => void = () => undefined,
  ) {
    this.nextId = ((Math.floor(options.firstId) % 4294967295) + 4294967295) % 4294967295 + 1;
  }

  private allocateId(): number {
    const id = this.nextId;
    this.nextId = id >= 4294967295 ? 1 : id + 1;
    return id;
  }

  /** A JSON payload (the command topic, an HTTP body); resolves with its one answer. */
  request(text: string, origin: CommandOrigin = 'feature'): Promise<CommandReply> {
    const p = parseCommandPayload(text);
    if (!p.ok) {
      const r: CommandReply = { request_id: p.requestId, ok: false, error: p.error, detail: p.detail };
      if (p.cmd !== undefined) r.cmd = p.cmd;
      return Promise.resolve(this.finish(p.error === 'forbidden' ? 'forbidden' : 'invalid', r, origin, text));
    }
    return this.submit(p.command, p.requestId, origin);
  }

  /** Why this path will not send a valid command, or null. */
  private refusal(command: Command): string | null {
    if (handsOverMcu(command.cmd)) return handoverRefusal(command.cmd);
    const limit = this.options.silenceLimitMs ?? 0;
    if (command.cmd === 'set' && command.period !== undefined && limit > 0 && command.period * 1000 > limit / 2) {
      return `period ${command.period} s is more than half of source.idle_timeout_ms (${limit} ms): this bridge would take the link for dead between readings; raise source.idle_timeout_ms to at least ${Math.ceil(command.period * 2000)} first`;
    }
    return null;
  }

  /** A command already built (Home Assistant's select); resolves with its one answer. */
  submit(command: Command, requestId?: string | number, origin: CommandOrigin = 'feature'): Promise<CommandReply> {
    const refused = this.refusal(command);
    if (refused) return Promise.resolve(this.finish('forbidden', { request_id: requestId, ok: false, cmd: command.cmd, error: 'forbidden', detail: refused }, origin));
    if (!this.transport.linkUp()) {
      return Promise.resolve(this.finish('unavailable', { request_id: requestId, ok: false, cmd: command.cmd, error: 'unavailable', detail: 'the link to the MCU is down' }, origin));
    }
    if (this.pending.size >= this.options.maxPending) {
      return Promise.resolve(this.finish('busy', { request_id: requestId, ok: false, cmd: command.cmd, error: 'busy', detail: `${this.pending.size} commands already waiting for the MCU` }, origin));
    }
    const id = this.allocateId();
    const line = encodeCommand({ ...command, id } as Command & { id: number }) + '\n';
    return new Promise<CommandReply>((answer) => {
      const timer = setTimeout(() => {
        if (!this.pending.delete(id)) return;
        answer(this.finish('timeout', { request_id: requestId, id, ok: false, cmd: command.cmd, error: 'timeout', detail: `no reply from the MCU within ${this.options.timeoutMs} ms` }, origin));
      }, this.options.timeoutMs);
      this.pending.set(id, { requestId, cmd: command.cmd, origin, timer, answer });
      this.transport.send(line).catch((e: Error) => {
        const p = this.pending.get(id);
        if (!p) return;
        clearTimeout(p.timer);
        this.pending.delete(id);
        answer(this.finish('unavailable', { request_id: requestId, id, ok: false, cmd: command.cmd, error: 'unavailable', detail: `sending to the MCU failed: ${e.message}` }, origin));
      });
    });
  }

  /** An A frame from the MCU. Returns false when it answers nothing we are waiting for. */
  reply(frame: ReplyFrame): boolean {
    const p = this.pending.get(frame.id);
    if (!p) return false;
    clearTimeout(p.timer);
    this.pending.delete(frame.id);
    const r: CommandReply = { request_id: p.requestId, id: frame.id, ok: frame.ok === 1, cmd: p.cmd };
    if (frame.ok === 1) {
      if (frame.data) r.data = frame.data;
      if (frame.msg !== undefined) r.detail = frame.msg;
      p.answer(this.finish('ok', r, p.origin));
    } else {
      r.error = frame.err ?? 'failed';
      if (frame.msg !== undefined) r.detail = frame.msg;
      p.answer(this.finish('failed', r, p.origin));
    }
    return true;
  }

  private finish(outcome: CommandOutcome, r: CommandReply, origin: CommandOrigin, payload?: string): CommandReply {
    if (r.request_id === undefined) delete r.request_id;
    this.onOutcome(payload === undefined ? { outcome, reply: r, origin } : { outcome, reply: r, origin, payload });
    this.transport.reply?.(r);
    return r;
  }

  pendingCount(): number {
    return this.pending.size;
  }

  /** Stops the timers; what is still waiting is answered "unavailable" (the bridge is stopping), nothing after. */
  close(): void {
    const waiting = [...this.pending.entries()];
    this.pending.clear();
    for (const [id, p] of waiting) {
      clearTimeout(p.timer);
      const r: CommandReply = { request_id: p.requestId, id, ok: false, cmd: p.cmd, error: 'unavailable', detail: 'the bridge is stopping' };
      if (r.request_id === undefined) delete r.request_id;
      p.answer(r);
    }
  }
}
