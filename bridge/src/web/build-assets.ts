/** npm run build:web: builds the page's assets into out/web/ (the bridge also does it on demand). */
import path from 'node:path';
import { buildWebAssets } from './assets';

buildWebAssets().then(({ dir, manifest }) => {
  console.log(`web assets in ${path.relative(process.cwd(), dir)}: ${Object.keys(manifest.files).join(' ')}`);
}).catch((e: Error) => {
  console.error(`build:web: ${e.message}`);
  process.exit(1);
});
