/**
 * Renders the small part of Home Assistant's Jinja templates that MQTT discovery configs
 * use, the way Home Assistant would, so a test can feed a real payload through a real
 * value_template. Everything outside the subset throws `UnsupportedTemplate`: a template
 * this cannot judge must fail the test, not pass it.
 *
 * Subset:
 *   template := "{{" expr "}}"                  (the whole string; no text or {% %} around it)
 *   expr     := pipe [ "if" pipe "else" pipe ]  (Jinja's inline if; the condition by truthiness)
 *   pipe     := primary { "|" filter }
 *   filter   := "join" [ "(" string ")" ]
 *   primary  := name { "." name | "[" string "]" } | string | number
 * with `value` (the payload text) and `value_json` (the payload parsed as JSON) defined.
 *
 * Output follows Jinja on Python values: None renders "None", true "True", an attribute a
 * dict lacks renders "" (Jinja's undefined), numbers as Python's str() writes them.
 */

export class UnsupportedTemplate extends Error {}

type Value = unknown;
const UNDEFINED = Symbol('undefined');

interface Token {
  kind: 'name' | 'string' | 'number' | 'punct';
  text: string;
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\n') {
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /\w/.test(src[j])) j++;
      out.push({ kind: 'name', text: src.slice(i, j) });
      i = j;
    } else if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[0-9.]/.test(src[j])) j++;
      out.push({ kind: 'number', text: src.slice(i, j) });
      i = j;
    } else if (c === "'" || c === '"') {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw new UnsupportedTemplate(`unterminated string at ${i}`);
      const body = src.slice(i + 1, end);
      if (body.includes('\\')) throw new UnsupportedTemplate('escapes in strings are outside the subset');
      out.push({ kind: 'string', text: body });
      i = end + 1;
    } else if ('.|()[],'.includes(c)) {
      out.push({ kind: 'punct', text: c });
      i++;
    } else {
      throw new UnsupportedTemplate(`character ${JSON.stringify(c)} (operators, tests and statements are outside the subset)`);
    }
  }
  return out;
}

type Node =
  | { t: 'path'; root: string; keys: string[] }
  | { t: 'lit'; value: Value }
  | { t: 'filter'; name: 'join'; arg: Node; sep: string }
  | { t: 'if'; then: Node; cond: Node; else: Node };

class Parser {
  private i = 0;
  constructor(private readonly toks: Token[]) {}

  private peek(): Token | undefined {
    return this.toks[this.i];
  }
  private next(): Token {
    const t = this.toks[this.i++];
    if (!t) throw new UnsupportedTemplate('unexpected end of expression');
    return t;
  }
  private expect(text: string): void {
    const t = this.next();
    if (t.text !== text || t.kind === 'string') throw new UnsupportedTemplate(`expected ${text}, got ${t.text}`);
  }

  parseAll(): Node {
    const e = this.expr();
    if (this.i !== this.toks.length) throw new UnsupportedTemplate(`unexpected ${this.toks[this.i].text}`);
    return e;
  }

  private expr(): Node {
    const then = this.pipe();
    const t = this.peek();
    if (t && t.kind === 'name' && t.text === 'if') {
      this.next();
      const cond = this.pipe();
      const e = this.next();
      if (e.kind !== 'name' || e.text !== 'else') throw new UnsupportedTemplate('an inline if needs its else');
      return { t: 'if', then, cond, else: this.pipe() };
    }
    return then;
  }

  private pipe(): Node {
    let node = this.primary();
    while (this.peek()?.text === '|' && this.peek()?.kind === 'punct') {
      this.next();
      const f = this.next();
      if (f.kind !== 'name' || f.text !== 'join') throw new UnsupportedTemplate(`filter ${f.text} is outside the subset (join only)`);
      let sep = '';
      if (this.peek()?.text === '(' && this.peek()?.kind === 'punct') {
        this.next();
        const s = this.next();
        if (s.kind !== 'string') throw new UnsupportedTemplate('join takes one string');
        sep = s.text;
        this.expect(')');
      }
      node = { t: 'filter', name: 'join', arg: node, sep };
    }
    return node;
  }

  private primary(): Node {
    const t = this.next();
    if (t.kind === 'string') return { t: 'lit', value: t.text };
    if (t.kind === 'number') {
      if (!/^\d+(\.\d+)?$/.test(t.text)) throw new UnsupportedTemplate(`number ${t.text}`);
      return { t: 'lit', value: Number(t.text) };
    }
    if (t.kind !== 'name' || ['if', 'else', 'and', 'or', 'not', 'is', 'in'].includes(t.text)) throw new UnsupportedTemplate(`unexpected ${t.text}`);
    if (t.text !== 'value' && t.text !== 'value_json') throw new UnsupportedTemplate(`variable ${t.text} (only value and value_json are defined)`);
    const keys: string[] = [];
    for (;;) {
      const p = this.peek();
      if (p?.kind === 'punct' && p.text === '.') {
        this.next();
        const k = this.next();
        if (k.kind !== 'name') throw new UnsupportedTemplate(`attribute ${k.text}`);
        if (this.peek()?.text === '(' && this.peek()?.kind === 'punct') throw new UnsupportedTemplate(`method call ${k.text}() is outside the subset`);
        keys.push(k.text);
      } else if (p?.kind === 'punct' && p.text === '[') {
        this.next();
        const k = this.next();
        if (k.kind !== 'string') throw new UnsupportedTemplate('only string subscripts');
        this.expect(']');
        keys.push(k.text);
      } else {
        break;
      }
    }
    return { t: 'path', root: t.text, keys };
  }
}

/** str() of a Python float or int parsed from JSON. */
function pyNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return String(n);
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : n < 0 ? '-inf' : 'nan';
  const a = Math.abs(n);
  if (a >= 1e-4 && a < 1e16) return String(n);
  // Python switches to exponent form outside that range: 1e-05, 1.5e+16.
  const [m, e] = n.toExponential().split('e');
  const exp = Number(e);
  return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

function pyStr(v: Value): string {
  if (v === UNDEFINED) return '';
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return pyNumber(v);
  if (typeof v === 'string') return v;
  throw new UnsupportedTemplate(`rendering a ${Array.isArray(v) ? 'list' : 'dict'} (its Python repr) is outside the subset`);
}

function truthy(v: Value): boolean {
  if (v === UNDEFINED || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

function evaluate(n: Node, payload: string, json: () => Value): Value {
  switch (n.t) {
    case 'lit':
      return n.value;
    case 'path': {
      let v: Value = n.root === 'value' ? payload : json();
      for (const k of n.keys) {
        if (v === UNDEFINED) return UNDEFINED;
        if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.prototype.hasOwnProperty.call(v, k)) return UNDEFINED;
        v = (v as { [k: string]: Value })[k];
      }
      return v;
    }
    case 'filter': {
      const v = evaluate(n.arg, payload, json);
      if (v === UNDEFINED) return '';
      if (typeof v === 'string') return v.split('').join(n.sep);
      if (!Array.isArray(v)) throw new UnsupportedTemplate('join of something that is not a list or string');
      return v.map((x) => pyStr(x)).join(n.sep);
    }
    case 'if':
      return truthy(evaluate(n.cond, payload, json)) ? evaluate(n.then, payload, json) : evaluate(n.else, payload, json);
  }
}

/** Checks a template is inside the subset; returns a renderer for payloads. */
export function compileTemplate(template: string): (payload: string) => string {
  const m = /^\{\{(.*)\}\}$/s.exec(template);
  if (!m || m[1].includes('{{') || m[1].includes('}}') || template.includes('{%') || template.includes('{#')) {
    throw new UnsupportedTemplate(`only a single {{ expression }} is supported: ${template}`);
  }
  const ast = new Parser(tokenize(m[1])).parseAll();
  return (payload: string) => {
    let parsed: Value = UNDEFINED;
    let done = false;
    const json = (): Value => {
      if (!done) {
        done = true;
        // Home Assistant leaves value_json undefined when the payload is not JSON.
        try { parsed = JSON.parse(payload); } catch { parsed = UNDEFINED; }
      }
      return parsed;
    };
    return pyStr(evaluate(ast, payload, json));
  };
}

export function renderTemplate(template: string, payload: string): string {
  return compileTemplate(template)(payload);
}
