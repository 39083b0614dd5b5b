/**
 * Commands from the page: allowed only with the configured token, then handed to the same
 * CommandRouter as MQTT commands (same parsing, same validation, same MCU round trip).
 * Each gets a request id of its own so its reply comes back to the HTTP request that
 * asked, instead of the MQTT reply topic.
 */
import crypto from 'node:crypto';
import type { CommandReply } from '../commands/command-router';

export type TokenCheck = { ok: true } | { ok: false; status: 401 | 403; error: string };

/** Constant-time comparison of the Authorization header against the configured token. */
export function checkToken(configured: string, header: string | undefined): TokenCheck {
  if (!configured) return { ok: false, status: 403, error: 'controls are off: set web.token in the bridge configuration (or SOLAR_BRIDGE_WEB_TOKEN) to enable them' };
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return { ok: false, status: 401, error: 'send the token as "Authorization: Bearer <token>"' };
  const a = crypto.createHash('sha256').update(m[1]).digest();
  const b = crypto.createHash('sha256').update(configured).digest();
  return crypto.timingSafeEqual(a, b) ? { ok: true } : { ok: false, status: 401, error: 'wrong token' };
}

export class WebCommands {
  private readonly waiting = new Map<string, (r: CommandReply) => void>();
  private readonly prefix = `web-${crypto.randomBytes(6).toString('hex')}-`;
  private n = 0;

  /** `request` is the router's request(): the MQTT command path. */
  constructor(private readonly request: (payload: string) => void) {}

  /**
   * Sends one command object (already JSON-parsed from the page) and resolves with the
   * router's reply: the MCU's answer, or why it never reached it. `request_id` from the
   * page is replaced: ids are the bridge's to match.
   */
  send(command: { [k: string]: unknown }): Promise<CommandReply> {
    const id = this.prefix + ++this.n;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.request(JSON.stringify({ ...command, request_id: id }));
    });
  }

  /** Every reply the router produces; true when it answers one of ours (not for MQTT then). */
  take(r: CommandReply): boolean {
    if (typeof r.request_id !== 'string') return false;
    const f = this.waiting.get(r.request_id);
    if (!f) return false;
    this.waiting.delete(r.request_id);
    f(r);
    return true;
  }

  close(): void {
    for (const f of this.waiting.values()) f({ ok: false, error: 'unavailable', detail: 'the bridge is stopping' });
    this.waiting.clear();
  }
}
