/**
 * A small schematic-drawing kit: each call adds one symbol to a Sheet and returns the
 * coordinates of its pins, so a drawing is a list of placed parts joined by wires.
 * Output is plain SVG 1.1 with no scripts or external fonts, so any browser or image
 * viewer shows it, and it is deterministic text (committed and compared in tests).
 */

export type Pt = [number, number];

export type Side = 'left' | 'right' | 'above' | 'below';

const STROKE = '#111';
const NET = '#1f4e9c';

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function n(v: number): string {
  return String(Math.round(v * 100) / 100);
}

function pts(p: Pt[]): string {
  return p.map(([x, y]) => `${n(x)},${n(y)}`).join(' ');
}

/** "82 kΩ", "1.43 kΩ", "4.7 kΩ", "5 Ω": three significant digits are what a BOM shows. */
export function ohms(v: number): string {
  const units: [number, string][] = [[1e6, 'MΩ'], [1e3, 'kΩ'], [1, 'Ω']];
  for (const [scale, unit] of units) {
    if (v >= scale) return `${Number((v / scale).toPrecision(3))} ${unit}`;
  }
  return `${Number(v.toPrecision(3))} Ω`;
}

export function volts(v: number, digits = 2): string {
  return `${v.toFixed(digits)} V`;
}

export class Sheet {
  private readonly parts: string[] = [];

  constructor(readonly width: number, readonly height: number, readonly title: string) {}

  /** Text; lines after the first go below it. */
  text(x: number, y: number, lines: string | string[], opts: { anchor?: 'start' | 'middle' | 'end'; size?: number; bold?: boolean; color?: string } = {}): void {
    const list = typeof lines === 'string' ? [lines] : lines;
    const size = opts.size ?? 13;
    const attrs = [
      `x="${n(x)}"`, `y="${n(y)}"`, `font-size="${size}"`,
      `text-anchor="${opts.anchor ?? 'start'}"`,
      opts.bold ? 'font-weight="bold"' : '',
      opts.color ? `fill="${opts.color}"` : '',
    ].filter((a) => a).join(' ');
    const spans = list.map((l, i) => `<tspan x="${n(x)}" dy="${i === 0 ? 0 : n(size * 1.25)}">${escapeXml(l)}</tspan>`).join('');
    this.parts.push(`<text ${attrs}>${spans}</text>`);
  }

  wire(...points: Pt[]): void {
    this.parts.push(`<polyline points="${pts(points)}" fill="none" stroke="${NET}" stroke-width="1.6"/>`);
  }

  dot(p: Pt): void {
    this.parts.push(`<circle cx="${n(p[0])}" cy="${n(p[1])}" r="3.5" fill="${NET}"/>`);
  }

  /** A net name written beside a point (no symbol). */
  netLabel(p: Pt, label: string, side: Side = 'above'): void {
    const [x, y] = p;
    if (side === 'above') this.text(x, y - 7, label, { anchor: 'middle', color: NET, bold: true });
    else if (side === 'below') this.text(x, y + 17, label, { anchor: 'middle', color: NET, bold: true });
    else if (side === 'left') this.text(x - 6, y + 4, label, { anchor: 'end', color: NET, bold: true });
    else this.text(x + 6, y + 4, label, { anchor: 'start', color: NET, bold: true });
  }

  private line(a: Pt, b: Pt, width = 2): void {
    this.parts.push(`<line x1="${n(a[0])}" y1="${n(a[1])}" x2="${n(b[0])}" y2="${n(b[1])}" stroke="${STROKE}" stroke-width="${width}"/>`);
  }

  private poly(p: Pt[], fill = 'none'): void {
    this.parts.push(`<polygon points="${pts(p)}" fill="${fill}" stroke="${STROKE}" stroke-width="2" stroke-linejoin="round"/>`);
  }

  private polyline(p: Pt[]): void {
    this.parts.push(`<polyline points="${pts(p)}" fill="none" stroke="${STROKE}" stroke-width="2" stroke-linejoin="round"/>`);
  }

  /** Label of a two-terminal part: name in bold, then its value lines. */
  private partLabel(mid: Pt, vertical: boolean, side: Side, name: string, value: string[], gap = 16): void {
    const [x, y] = mid;
    const lines = [name, ...value];
    const size = 13;
    if (vertical) {
      const anchor = side === 'left' ? 'end' : 'start';
      const lx = side === 'left' ? x - gap : x + gap;
      const y0 = y - ((lines.length - 1) * size * 1.25) / 2 + 4;
      this.text(lx, y0, name, { anchor, bold: true });
      if (value.length) this.text(lx, y0 + size * 1.25, value, { anchor });
    } else {
      const y0 = side === 'below' ? y + 26 : y - 14 - value.length * size * 1.25;
      this.text(x, y0, name, { anchor: 'middle', bold: true });
      if (value.length) this.text(x, y0 + size * 1.25, value, { anchor: 'middle' });
    }
  }

  /** Zigzag resistor between two points on one horizontal or vertical line. */
  resistor(a: Pt, b: Pt, name: string, value: string | string[], side?: Side): void {
    const vertical = a[0] === b[0];
    const len = vertical ? b[1] - a[1] : b[0] - a[0];
    const dir = Math.sign(len);
    const body = Math.min(60, Math.abs(len) - 16);
    const start = (Math.abs(len) - body) / 2;
    const at = (t: number, off: number): Pt => (vertical ? [a[0] + off, a[1] + dir * t] : [a[0] + dir * t, a[1] + off]);
    const zig: Pt[] = [at(0, 0), at(start, 0)];
    const teeth = 6;
    for (let i = 0; i < teeth; i++) {
      zig.push(at(start + (body * (i + 0.5)) / teeth, i % 2 === 0 ? -8 : 8));
    }
    zig.push(at(start + body, 0), at(Math.abs(len), 0));
    this.polyline(zig);
    const mid: Pt = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    this.partLabel(mid, vertical, side ?? (vertical ? 'right' : 'above'), name, typeof value === 'string' ? [value] : value);
  }

  /**
   * Trim pot drawn as a vertical resistor with the wiper arrow coming in from the right
   * at the middle of the body; returns the wiper's outer end.
   */
  pot(top: Pt, bottom: Pt, name: string, value: string[], labelSide: Side = 'left'): Pt {
    this.resistor(top, bottom, name, value, labelSide);
    const y = (top[1] + bottom[1]) / 2;
    const x = top[0];
    const tail: Pt = [x + 44, y];
    this.line(tail, [x + 14, y]);
    this.poly([[x + 10, y], [x + 20, y - 5], [x + 20, y + 5]], STROKE);
    return tail;
  }

  /** Diode from anode to cathode (horizontal or vertical); the bar is at the cathode. */
  diode(anode: Pt, cathode: Pt, name: string, value: string, side?: Side): void {
    const vertical = anode[0] === cathode[0];
    const len = vertical ? cathode[1] - anode[1] : cathode[0] - anode[0];
    const dir = Math.sign(len);
    const half = 10;
    const mid = Math.abs(len) / 2;
    const at = (t: number, off: number): Pt => (vertical ? [anode[0] + off, anode[1] + dir * t] : [anode[0] + dir * t, anode[1] + off]);
    this.line(anode, at(mid - half, 0));
    this.poly([at(mid - half, -half), at(mid - half, half), at(mid + half, 0)]);
    this.line(at(mid + half, -half), at(mid + half, half), 2.5);
    this.line(at(mid + half, 0), cathode);
    const m: Pt = [(anode[0] + cathode[0]) / 2, (anode[1] + cathode[1]) / 2];
    this.partLabel(m, vertical, side ?? (vertical ? 'right' : 'above'), name, [value]);
  }

  ground(p: Pt): void {
    const [x, y] = p;
    this.line(p, [x, y + 10]);
    this.line([x - 12, y + 10], [x + 12, y + 10]);
    this.line([x - 7, y + 15], [x + 7, y + 15]);
    this.line([x - 2, y + 20], [x + 2, y + 20]);
  }

  /** Supply rail tee: the part connects below p. */
  supply(p: Pt, label: string): void {
    const [x, y] = p;
    this.line([x - 12, y], [x + 12, y], 2.5);
    this.text(x, y - 7, label, { anchor: 'middle', bold: true, size: 12 });
  }

  /** Voltage source (circle with + and −) between top and bottom; the label sits on `side`. */
  source(top: Pt, bottom: Pt, name: string, value: string[], side: Side = 'left'): void {
    const x = top[0];
    const cy = (top[1] + bottom[1]) / 2;
    const r = 22;
    this.line(top, [x, cy - r]);
    this.line([x, cy + r], bottom);
    this.parts.push(`<circle cx="${n(x)}" cy="${n(cy)}" r="${r}" fill="none" stroke="${STROKE}" stroke-width="2"/>`);
    this.text(x, cy - 6, '+', { anchor: 'middle', bold: true, size: 14 });
    this.text(x, cy + 15, '−', { anchor: 'middle', bold: true, size: 14 });
    this.partLabel([x, cy], true, side, name, value, r + 10);
  }

  /**
   * Comparator triangle with its left edge at x, inputs 30 px either side of cy,
   * and the open-collector output at the tip. Returns the pin positions.
   */
  comparator(x: number, cy: number, plusOnTop: boolean, name: string, value: string[]): { plus: Pt; minus: Pt; out: Pt } {
    const h = 120;
    const w = 110;
    this.poly([[x, cy - h / 2], [x, cy + h / 2], [x + w, cy]]);
    const top: Pt = [x, cy - 30];
    const bottom: Pt = [x, cy + 30];
    const plus = plusOnTop ? top : bottom;
    const minus = plusOnTop ? bottom : top;
    this.text(x + 8, plus[1] + 5, '+', { bold: true, size: 16 });
    this.text(x + 8, minus[1] + 5, '−', { bold: true, size: 16 });
    // The open-collector mark: an underlined diamond, as on datasheets.
    const mx = x + 48;
    this.poly([[mx, cy - 7], [mx + 7, cy], [mx, cy + 7], [mx - 7, cy]]);
    this.line([mx - 7, cy + 9], [mx + 7, cy + 9], 1.5);
    this.text(x + w / 2 - 10, cy + h / 2 + 18, name, { anchor: 'middle', bold: true });
    this.text(x + w / 2 - 10, cy + h / 2 + 34, value, { anchor: 'middle' });
    return { plus, minus, out: [x + w, cy] };
  }

  /** NPN transistor centred at c; returns base (left), collector (top) and emitter (bottom) pins. */
  npn(c: Pt, name: string, value: string): { base: Pt; collector: Pt; emitter: Pt } {
    const [cx, cy] = c;
    this.parts.push(`<circle cx="${n(cx)}" cy="${n(cy)}" r="24" fill="none" stroke="${STROKE}" stroke-width="1.5"/>`);
    this.line([cx - 8, cy - 13], [cx - 8, cy + 13], 3);
    this.line([cx - 34, cy], [cx - 8, cy]);
    this.line([cx - 8, cy - 6], [cx + 12, cy - 20]);
    this.line([cx + 12, cy - 20], [cx + 12, cy - 34]);
    this.line([cx - 8, cy + 6], [cx + 12, cy + 20]);
    this.line([cx + 12, cy + 20], [cx + 12, cy + 34]);
    // Emitter arrow pointing out of the base: NPN.
    this.poly([[cx + 12, cy + 20], [cx + 1, cy + 18], [cx + 7, cy + 11]], STROKE);
    this.text(cx + 30, cy - 2, name, { bold: true });
    this.text(cx + 30, cy + 14, value);
    return { base: [cx - 34, cy], collector: [cx + 12, cy - 34], emitter: [cx + 12, cy + 34] };
  }

  /** A labelled box (a block or an off-sheet device); pins are placed by the caller on its edges. */
  box(x: number, y: number, w: number, h: number, lines: string[], opts: { dashed?: boolean } = {}): void {
    this.parts.push(`<rect x="${n(x)}" y="${n(y)}" width="${n(w)}" height="${n(h)}" fill="#f7f7f2" stroke="${STROKE}" stroke-width="1.5"${opts.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    this.text(x + 10, y + 20, lines[0], { bold: true });
    if (lines.length > 1) this.text(x + 10, y + 38, lines.slice(1), { size: 12 });
  }

  /** A note block: first line bold, the rest plain. */
  note(x: number, y: number, lines: string[]): void {
    this.text(x, y, lines[0], { bold: true });
    if (lines.length > 1) this.text(x, y + 18, lines.slice(1), { size: 12 });
  }

  render(): string {
    return [
      '<?xml version="1.0" encoding="UTF-8"?>',
      `<svg xmlns="http://www.w3.org/2000/svg" width="${this.width}" height="${this.height}" viewBox="0 0 ${this.width} ${this.height}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif">`,
      `<title>${escapeXml(this.title)}</title>`,
      `<rect x="0" y="0" width="${this.width}" height="${this.height}" fill="#ffffff"/>`,
      ...this.parts,
      '</svg>',
      '',
    ].join('\n');
  }
}
