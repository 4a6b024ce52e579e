// Bundle the page into the Python package (src/twinsep/viewer/static), no CDN at run time.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'src', 'twinsep', 'viewer', 'static');
mkdirSync(out, { recursive: true });

await build({
  entryPoints: [join(here, 'src', 'main.js')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome110', 'firefox115', 'safari16'],
  outfile: join(out, 'viewer.js'),
  legalComments: 'eof',
  logLevel: 'warning',
});
for (const f of ['index.html', 'viewer.css']) copyFileSync(join(here, 'src', f), join(out, f));
const size = statSync(join(out, 'viewer.js')).size;
console.log(`viewer.js: ${(size / 1024).toFixed(0)} kB`);
if (size > 1024 * 1024) {
  console.error('bundle is larger than the 1 MB budget');
  process.exit(1);
}
