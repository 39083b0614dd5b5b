/**
 * A program in a real terminal: a tmux pane on a private tmux server, so a test sees what
 * a person would (a tty, its size, Ctrl-C through the line discipline) and can read the
 * screen. The pane stays after the program exits, so its last screen can be read.
 */
import { spawnSync } from 'node:child_process';

export class TmuxPane {
  private constructor(private readonly socket: string, private readonly name: string) {}

  /** Runs `command` (through sh) in a new cols × rows pane with working directory `cwd`. */
  static start(command: string, cwd: string, cols = 120, rows = 40): TmuxPane {
    const pane = new TmuxPane(`solar-test-${process.pid}-${Date.now()}`, 'main');
    // An idle shell first, so remain-on-exit is set before the program can exit.
    pane.tmux(['-f', '/dev/null', 'new-session', '-d', '-s', pane.name, '-x', String(cols), '-y', String(rows), '-c', cwd]);
    pane.tmux(['set-option', '-t', pane.name, 'remain-on-exit', 'on']);
    pane.tmux(['respawn-pane', '-k', '-t', pane.name, '-c', cwd, command]);
    return pane;
  }

  private tmux(args: string[]): string {
    const r = spawnSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8', timeout: 10000 });
    if (r.error) throw new Error(`tmux ${args[0]}: ${r.error.message} (is tmux installed? apt-get install tmux)`);
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** The visible screen plus scrollback, as text lines. */
  screen(): string {
    return this.tmux(['capture-pane', '-p', '-J', '-S', '-200', '-t', this.name]);
  }

  /** Keys as tmux names them, e.g. "C-c". */
  sendKeys(...keys: string[]): void {
    this.tmux(['send-keys', '-t', this.name, ...keys]);
  }

  dead(): boolean {
    return this.tmux(['display-message', '-p', '-t', this.name, '#{pane_dead}']).trim() === '1';
  }

  kill(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server'], { timeout: 10000 });
  }
}
