/**
 * The project's imports as a graph: every static `import ... from`, `export ... from`,
 * bare `import '...'`, `require('...')` and `import('...')` of a relative path, resolved
 * to a file of the repository. Package imports are not the project's and are left out.
 * Works on a map of path -> text, so the rules can be tested on a made-up tree too.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface ImportEdge {
  from: string;
  /** Repository path the specifier resolves to (a file when one exists, else the bare path). */
  to: string;
  specifier: string;
  line: number;
  /** `import type` / `export type`: erased at compile time, so no run-time dependency. */
  typeOnly: boolean;
}

const SOURCE_EXT = /\.(ts|js|mjs|cjs)$/;
const SKIP_DIRS = new Set(['node_modules', '.git', 'dist']);

/** Every source file under `root`, as repository paths with / separators. */
export function listSources(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      if (SKIP_DIRS.has(e.name)) continue;
      const rel = dir ? `${dir}/${e.name}` : e.name;
      if (e.isDirectory()) walk(rel);
      else if (SOURCE_EXT.test(e.name) && !e.name.endsWith('.d.ts')) out.push(rel);
    }
  };
  walk('');
  return out.sort();
}

/** Block comments and whole-line // comments blanked (newlines kept, so line numbers hold). */
function stripComments(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '))
    .replace(/^[ \t]*\/\/.*$/gm, '');
}

const PATTERNS: ReadonlyArray<{ re: RegExp; typeGroup?: number; specGroup: number }> = [
  // import x from '...', import { a } from '...', import type { T } from '...', export { a } from '...', export * from '...'
  { re: /\b(?:import|export)\s+(type\s+)?(?:[\w$*{}\s,]+?)\s+from\s+['"]([^'"]+)['"]/g, typeGroup: 1, specGroup: 2 },
  // import '...'
  { re: /\bimport\s+['"]([^'"]+)['"]/g, specGroup: 1 },
  // require('...'), import('...')
  { re: /\b(?:require|import)\s*\(\s*['"]([^'"]+)['"]\s*\)/g, specGroup: 1 },
];

function resolve(fromFile: string, specifier: string, exists: (p: string) => boolean): string {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), specifier));
  for (const c of [base, `${base}.ts`, `${base}.js`, `${base}/index.ts`, `${base}/index.js`]) if (exists(c)) return c;
  return base;
}

/** The relative imports of each file in `files` (path -> source text). */
export function importEdges(files: ReadonlyMap<string, string>): ImportEdge[] {
  const exists = (p: string): boolean => files.has(p);
  const edges: ImportEdge[] = [];
  for (const [file, raw] of files) {
    const text = stripComments(raw);
    for (const p of PATTERNS) {
      p.re.lastIndex = 0;
      for (let m = p.re.exec(text); m; m = p.re.exec(text)) {
        const specifier = m[p.specGroup];
        if (!specifier.startsWith('.')) continue;
        const line = text.slice(0, m.index).split('\n').length;
        edges.push({ from: file, to: resolve(file, specifier, exists), specifier, line, typeOnly: p.typeGroup !== undefined && m[p.typeGroup] !== undefined });
      }
    }
  }
  return edges;
}

/** Reads every source file of the repository at `root`. */
export function readTree(root: string): Map<string, string> {
  return new Map(listSources(root).map((f) => [f, fs.readFileSync(path.join(root, f), 'utf8')]));
}

const under = (p: string, dir: string): boolean => p === dir || p.startsWith(dir + '/');

/** Each broken layering rule, as "file:line imports specifier: why". */
export function layeringViolations(edges: readonly ImportEdge[]): string[] {
  const out: string[] = [];
  const say = (e: ImportEdge, why: string): void => { out.push(`${e.from}:${e.line} imports ${e.specifier} (${e.to}): ${why}`); };
  for (const e of edges) {
    if (['bridge/src', 'protocol', 'simulator'].some((d) => under(e.from, d)) && under(e.to, 'firmware/src')) {
      say(e, 'firmware/src is the MCU\'s; shared code lives in protocol/, drivers/ or hardware/');
    }
    if (!under(e.from, 'bridge') && under(e.to, 'bridge/src') && !['bridge/src', 'bridge/src/index', 'bridge/src/index.ts'].includes(e.to)) {
      say(e, 'outside bridge/, bridge code is imported only through bridge/src/index.ts');
    }
    if (under(e.from, 'protocol') && !under(e.to, 'protocol') && !under(e.to, 'hardware')) {
      say(e, 'protocol/ imports nothing of the project but hardware/');
    }
    if (under(e.from, 'hardware') && !under(e.to, 'hardware')) {
      say(e, 'hardware/ imports nothing else of the project');
    }
  }
  return out;
}

/**
 * Import cycles among the files under `dir` (run-time imports only: a type-only import
 * is erased and cannot make modules load each other half-initialised). Each cycle is
 * one strongly connected component of two or more files, or a file importing itself.
 */
export function importCycles(edges: readonly ImportEdge[], dir: string): string[][] {
  const graph = new Map<string, string[]>();
  for (const e of edges) {
    if (e.typeOnly || !under(e.from, dir) || !under(e.to, dir)) continue;
    const list = graph.get(e.from) ?? [];
    list.push(e.to);
    graph.set(e.from, list);
    if (!graph.has(e.to)) graph.set(e.to, []);
  }
  // Tarjan's strongly connected components, iterative so a long chain cannot overflow the stack.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  for (const startNode of graph.keys()) {
    if (index.has(startNode)) continue;
    const work: Array<{ node: string; next: number }> = [{ node: startNode, next: 0 }];
    index.set(startNode, counter); low.set(startNode, counter); counter++;
    stack.push(startNode); onStack.add(startNode);
    while (work.length > 0) {
      const top = work[work.length - 1];
      const succ = graph.get(top.node)!;
      if (top.next < succ.length) {
        const w = succ[top.next++];
        if (!index.has(w)) {
          index.set(w, counter); low.set(w, counter); counter++;
          stack.push(w); onStack.add(w);
          work.push({ node: w, next: 0 });
        } else if (onStack.has(w)) {
          low.set(top.node, Math.min(low.get(top.node)!, index.get(w)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.node)!));
      }
      if (low.get(top.node) === index.get(top.node)) {
        const comp: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          comp.push(w);
        } while (w !== top.node);
        if (comp.length > 1 || succ.includes(top.node)) cycles.push(comp.sort());
      }
    }
  }
  return cycles;
}
