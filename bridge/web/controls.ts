/**
 * Thresholds and force buttons, shown only when the bridge has a token configured. Every
 * action is a POST to /api/command, the MQTT command path, and the MCU's reply is shown.
 */
import { PageState, postCommand } from './api';

const TOKEN_KEY = 'solar-bridge-token';

export class Controls {
  private readonly form = document.querySelector('#controls-form') as HTMLFormElement;
  private readonly off = document.querySelector('#controls-off') as HTMLElement;
  private readonly reply = document.querySelector('#reply') as HTMLElement;
  private readonly token = document.querySelector('#token') as HTMLInputElement;
  private filled = '';

  constructor() {
    this.token.value = localStorage.getItem(TOKEN_KEY) ?? '';
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      const cmd: { [k: string]: unknown } = { cmd: 'set' };
      for (const k of ['bon', 'boff', 'sdn', 'sup']) {
        const v = (this.form.elements.namedItem(k) as HTMLInputElement).value;
        if (v !== '') cmd[k] = Number(v);
      }
      void this.send(cmd);
    });
    this.form.querySelectorAll<HTMLButtonElement>('[data-force]').forEach((b) => b.addEventListener('click', () => {
      const mode = b.dataset.force!;
      const secs = Number((document.querySelector('#force-for') as HTMLSelectElement).value);
      void this.send(mode === 'auto' ? { cmd: 'force', mode } : { cmd: 'force', mode, for: secs });
    }));
  }

  update(s: PageState): void {
    this.form.hidden = !s.controls;
    this.off.hidden = s.controls;
    this.off.textContent = s.controls_hint ?? '';
    // Fill the thresholds once per change from the MCU, not over what someone is typing.
    const t = s.thresholds;
    const key = JSON.stringify(t);
    if (t && key !== this.filled) {
      this.filled = key;
      for (const k of ['bon', 'boff', 'sdn', 'sup']) {
        const input = this.form.elements.namedItem(k) as HTMLInputElement;
        if (t[k] !== undefined && document.activeElement !== input) input.value = String(t[k]);
      }
    }
  }

  private async send(cmd: object): Promise<void> {
    const token = this.token.value.trim();
    if (!token) {
      this.show(false, 'Enter the token first.');
      this.token.focus();
      return;
    }
    localStorage.setItem(TOKEN_KEY, token);
    this.show(null, 'Sent; waiting for the MCU…');
    try {
      const { reply } = await postCommand(token, cmd);
      const data = reply.data ? ' ' + Object.entries(reply.data).map(([k, v]) => `${k}=${v}`).join(' ') : '';
      this.show(reply.ok, reply.ok ? `MCU: ok${data}` : `Refused: ${reply.error ?? 'error'}${reply.detail ? ` (${reply.detail})` : ''}`);
    } catch (e) {
      this.show(false, `Could not reach the bridge: ${(e as Error).message}`);
    }
  }

  private show(ok: boolean | null, text: string): void {
    this.reply.textContent = text;
    this.reply.dataset.ok = ok === null ? '' : String(ok);
  }
}
