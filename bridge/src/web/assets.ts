/**
 * The page's assets: bridge/web/ (TypeScript, CSS, one HTML template) bundled by esbuild
 * into out/web/<source hash>/ with content-hashed names, so the browser may cache them for a year and
 * the HTML (never cached) names the current ones. Built on demand when the output is
 * missing or was built from other sources, so a fresh clone's `npm start` and `npm test`
 * need no separate step; `npm run build:web` does the same ahead of time (deployments
 * without dev dependencies ship out/web/). Each build goes to a directory of its own and
 * is renamed into place, so bridges starting together (tests) never see half a build.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

/** The repository (or install) root: the nearest directory up with a package.json; from the sources or the bundle alike. */
function rootDir(): string {
  let d = __dirname;
  for (let i = 0; i < 6 && !fs.existsSync(path.join(d, 'package.json')); i++) d = path.dirname(d);
  return d;
}

export const WEB_SOURCE_DIR = path.join(rootDir(), 'bridge', 'web');
export const WEB_OUT_DIR = path.join(rootDir(), 'out', 'web');
const UPLOT_PACKAGE = 'uplot/package.json';

export interface Asset {
  path: string;
  contentType: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
  /** Hashed names are immutable; the page itself is revalidated every time. */
  cacheControl: string;
}

interface Manifest {
  sourceHash: string;
  files: { [name: string]: string };
}

const TYPES: { [ext: string]: string } = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

function sourceFiles(): string[] {
  return fs.readdirSync(WEB_SOURCE_DIR).filter((f) => /\.(ts|css|html)$/.test(f)).sort().map((f) => path.join(WEB_SOURCE_DIR, f));
}

/** Hash of everything the bundle is made from, the chart library's version included. */
export function sourceHash(): string {
  const h = crypto.createHash('sha256');
  for (const f of sourceFiles()) h.update(path.basename(f)).update('\0').update(fs.readFileSync(f));
  h.update(fs.readFileSync(require.resolve(UPLOT_PACKAGE)));
  return h.digest('hex').slice(0, 16);
}

function short(b: Buffer | string): string {
  return crypto.createHash('sha256').update(b).digest('hex').slice(0, 12);
}

/** Runs esbuild over bridge/web/ and writes out/web/<source hash>/. */
export async function buildWebAssets(): Promise<{ dir: string; manifest: Manifest }> {
  const hash = sourceHash();
  // Loaded here only: esbuild is a build tool the bridge needs only when assets are stale.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  // esbuild runs as a child process that stays (pinging, about 20 MB) until told to stop:
  // a bridge that built its assets at start would otherwise keep it for its whole life.
  const result = await esbuild.build({
    entryPoints: [path.join(WEB_SOURCE_DIR, 'app.ts')],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2020',
    outdir: WEB_OUT_DIR,
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  }).finally(() => esbuild.stop());
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
  const css = result.outputFiles.find((f) => f.path.endsWith('.css'));
  if (!js || !css) throw new Error('web assets: esbuild produced no JS or no CSS');
  const jsName = `app.${short(Buffer.from(js.contents))}.js`;
  const cssName = `app.${short(Buffer.from(css.contents))}.css`;
  const html = fs.readFileSync(path.join(WEB_SOURCE_DIR, 'index.html'), 'utf8')
    .replace('%APP_JS%', `/assets/${jsName}`).replace('%APP_CSS%', `/assets/${cssName}`);
  const dir = path.join(WEB_OUT_DIR, hash);
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  fs.mkdirSync(tmp, { recursive: true });
  fs.writeFileSync(path.join(tmp, jsName), js.contents);
  fs.writeFileSync(path.join(tmp, cssName), css.contents);
  fs.writeFileSync(path.join(tmp, 'index.html'), html);
  const manifest: Manifest = { sourceHash: hash, files: { '/': 'index.html', [`/assets/${jsName}`]: jsName, [`/assets/${cssName}`]: cssName } };
  fs.writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 1));
  try {
    fs.renameSync(tmp, dir);
  } catch {
    // Another process built the same sources first: theirs is identical.
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  // Builds of older sources: a running bridge holds its assets in memory, so they can go.
  for (const d of fs.readdirSync(WEB_OUT_DIR)) {
    const full = path.join(WEB_OUT_DIR, d);
    if (full !== dir && !d.includes('.tmp-')) fs.rmSync(full, { recursive: true, force: true });
  }
  return { dir, manifest: readManifest(dir)! };
}

function readManifest(dir: string): Manifest | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch {
    return null;
  }
}

/** Without sources: the most recent complete build. */
function newestBuild(): string | null {
  if (!fs.existsSync(WEB_OUT_DIR)) return null;
  const dirs = fs.readdirSync(WEB_OUT_DIR).filter((d) => !d.includes('.tmp-') && fs.existsSync(path.join(WEB_OUT_DIR, d, 'manifest.json')));
  dirs.sort((a, b) => fs.statSync(path.join(WEB_OUT_DIR, b)).mtimeMs - fs.statSync(path.join(WEB_OUT_DIR, a)).mtimeMs);
  return dirs.length ? path.join(WEB_OUT_DIR, dirs[0]) : null;
}

/**
 * The built assets, building them first when missing or stale. When the sources are not
 * there (a deployment of out/web/ alone) whatever was built is used as it is.
 */
export async function loadWebAssets(): Promise<Map<string, Asset>> {
  let dir: string | null;
  let manifest: Manifest | null;
  if (fs.existsSync(path.join(WEB_SOURCE_DIR, 'app.ts'))) {
    dir = path.join(WEB_OUT_DIR, sourceHash());
    manifest = readManifest(dir);
    if (!manifest) ({ dir, manifest } = await buildWebAssets());
  } else {
    dir = newestBuild();
    manifest = dir ? readManifest(dir) : null;
  }
  if (!dir || !manifest) throw new Error(`web assets: nothing built in ${WEB_OUT_DIR} and no sources in ${WEB_SOURCE_DIR}`);
  const out = new Map<string, Asset>();
  for (const [url, file] of Object.entries(manifest.files)) {
    const body = fs.readFileSync(path.join(dir, file));
    out.set(url, {
      path: url,
      contentType: TYPES[path.extname(file)] ?? 'application/octet-stream',
      body,
      gzip: zlib.gzipSync(body, { level: 9 }),
      etag: `"${short(body)}"`,
      cacheControl: url === '/' ? 'no-cache' : 'public, max-age=31536000, immutable',
    });
  }
  return out;
}
