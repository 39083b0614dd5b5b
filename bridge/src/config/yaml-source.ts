/**
 * The config file's YAML read into plain data, with where each key sits (line and column,
 * 1-based), so an error can point into the file. Pure: the caller passes the text.
 * Hostile input ends in an error text, never a throw: syntax errors, duplicate keys, and
 * alias expansion beyond a small bound (a "billion laughs" file would otherwise take the
 * process's memory, or end in yaml's ReferenceError).
 */
import type * as Yaml from 'yaml';

/** A configuration needs no aliases; a few are allowed, a bomb is not. */
export const MAX_ALIAS_EXPANSIONS = 100;
/** The configuration nests 4 deep; [[[[… a hundred thousand deep exhausts the parser's memory first. */
export const MAX_FLOW_DEPTH = 64;

/**
 * Where [ and { nest deeper than MAX_FLOW_DEPTH (offset), or -1. A rough scan (quoted
 * text and comments skipped) that runs before the parser, in time and memory linear in
 * the text.
 */
function tooDeepAt(text: string): number {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote !== '') {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
    } else if (c === '[' || c === '{') {
      if (++depth > MAX_FLOW_DEPTH) return i;
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return -1;
}

export interface FilePosition {
  line: number;
  col: number;
}

export type YamlSource =
  | { ok: true; data: unknown; positions: Map<string, FilePosition> }
  | { ok: false; errors: string[] };

export function readYamlSource(name: string, text: string): YamlSource {
  // Loaded only when there is a file: most test and CLI runs have none.
  const YAML = require('yaml') as typeof Yaml;
  const lines = new YAML.LineCounter();
  const deep = tooDeepAt(text);
  if (deep >= 0) {
    const before = text.slice(0, deep);
    const line = before.split('\n').length;
    return { ok: false, errors: [`${name}:${line}:${deep - before.lastIndexOf('\n')}: YAML error: [ and { nested more than ${MAX_FLOW_DEPTH} deep; a configuration nests a few levels`] };
  }
  let doc: Yaml.Document.Parsed;
  try {
    doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter: lines });
  } catch (e) {
    // Deep nesting can exhaust the parser's stack.
    return { ok: false, errors: [`${name}: YAML error: ${(e as Error).message}`] };
  }
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => {
        const at = e.linePos?.[0];
        // prettyErrors appends " at line L, column C:" and a source excerpt; the position leads instead.
        const message = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
        return `${name}${at ? `:${at.line}:${at.col}` : ''}: YAML error: ${message}`;
      }),
    };
  }
  // Keys are words: a mapping or list as a key would be stringified by toJS (with a process warning).
  let oddKey: number | null = null;
  YAML.visit(doc, {
    Pair(_key, pair) {
      if (pair.key !== null && !YAML.isScalar(pair.key)) {
        oddKey = (pair.key as Yaml.Node).range?.[0] ?? 0;
        return YAML.visit.BREAK;
      }
      return undefined;
    },
  });
  if (oddKey !== null) {
    const p = lines.linePos(oddKey);
    return { ok: false, errors: [`${name}:${p.line}:${p.col}: YAML error: a key must be a word, not a list or mapping`] };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSIONS });
  } catch (e) {
    const firstAlias = findFirstAlias(YAML, doc);
    const at = firstAlias === null ? '' : `:${lines.linePos(firstAlias).line}:${lines.linePos(firstAlias).col}`;
    const why = e instanceof ReferenceError && /alias/i.test(e.message)
      ? `aliases (*name) expand to too much (more than ${MAX_ALIAS_EXPANSIONS} expansions, as in a "billion laughs" file); write the values out`
      : (e as Error).message;
    return { ok: false, errors: [`${name}${at}: YAML error: ${why}`] };
  }
  const positions = new Map<string, FilePosition>();
  const record = (path: string[], offset: number | undefined): void => {
    if (offset === undefined) return;
    const p = lines.linePos(offset);
    positions.set(path.join('.'), { line: p.line, col: p.col });
  };
  const walk = (node: unknown, path: string[]): void => {
    if (YAML.isMap(node)) {
      for (const pair of node.items) {
        const key = YAML.isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const p = [...path, key];
        // A scalar's own position (that is what is wrong); a section's key (`mqtt:`), whose
        // value starts on the next line.
        const value = pair.value as Yaml.Node | null;
        const keyAt = (pair.key as Yaml.Node | null)?.range?.[0];
        record(p, YAML.isCollection(value) ? keyAt ?? value.range?.[0] : value?.range?.[0] ?? keyAt);
        walk(value, p);
      }
    } else if (YAML.isSeq(node)) {
      node.items.forEach((item, i) => {
        record([...path, String(i)], (item as Yaml.Node | null)?.range?.[0]);
        walk(item, [...path, String(i)]);
      });
    }
  };
  walk(doc.contents, []);
  return { ok: true, data, positions };
}

function findFirstAlias(YAML: typeof Yaml, doc: Yaml.Document.Parsed): number | null {
  let at: number | null = null;
  YAML.visit(doc, {
    Alias(_key, node) {
      at = node.range?.[0] ?? null;
      return YAML.visit.BREAK;
    },
  });
  return at;
}
