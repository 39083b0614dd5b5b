/**
 * Who may send commands from the page: only a request carrying the configured token. The
 * command itself then takes the bridge's one command path (core.commands), as MQTT's do.
 */
import crypto from 'node:crypto';

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
