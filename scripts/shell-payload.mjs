// The shell payload as a browser sees it: loads a page in Debian's Chromium
// (signed in with the cookie given), waits until the app has hydrated, and
// sums every wasm / js / css file the page fetched from /pkg/ — the main
// bundle, the split loader and any lazy chunk the page needed — raw and
// brotli (quality 11, what a static pre-compression step would ship).
//
//   node scripts/shell-payload.mjs <url> [cookie header] [site pkg dir]
//
// The figure the < 600 KB target is kept on is what crossed the wire: the
// browser's own resource timing (`transferSize`: headers plus the body as
// sent, compressed or not) for the document and every file it loaded, with
// the encoding the server chose for each. The raw / brotli-11 sums per file
// are kept beside it, to tell the build's size from the delivery's.
//
// Also prints every file in the pkg dir, so the size of the whole app (all
// chunks) stays visible next to what the first load costs.
import { chromium } from '@playwright/test';
import { brotliCompressSync, constants } from 'node:zlib';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const [url, cookie = '', pkgDir = 'target/site/pkg'] = process.argv.slice(2);
if (!url) {
  console.error('usage: shell-payload.mjs <url> [cookie] [pkg dir]');
  process.exit(2);
}

const brotli = (buf) =>
  brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  if (cookie) await page.setExtraHTTPHeaders({ cookie });
  const fetched = new Set();
  const encoding = new Map();
  page.on('response', (res) => {
    encoding.set(new URL(res.url()).pathname, res.headers()['content-encoding'] ?? 'identity');
  });
  page.on('requestfinished', (req) => {
    const path = new URL(req.url()).pathname;
    if (path.startsWith('/pkg/')) fetched.add(path.slice('/pkg/'.length));
  });
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => window.__handooHydrated === true, null, { timeout: 30_000 });
  await page.waitForLoadState('networkidle');

  const wire = await page.evaluate(() =>
    [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')].map((e) => ({
      path: new URL(e.name).pathname,
      transfer: e.transferSize,
      decoded: e.decodedBodySize,
    })),
  );
  let sent = 0;
  let unpacked = 0;
  console.log(`  over the wire, as Chromium's resource timing reports it (${new URL(url).pathname}, signed in, empty cache):`);
  for (const w of wire) {
    sent += w.transfer;
    unpacked += w.decoded;
    const enc = (encoding.get(w.path) ?? '?').padEnd(8);
    console.log(`    ${w.path.slice(0, 56).padEnd(56)} ${enc} ${String(w.transfer).padStart(9)} B sent   ${String(w.decoded).padStart(9)} B unpacked`);
  }
  console.log(`    ${'first load total'.padEnd(56)} ${''.padEnd(8)} ${String(sent).padStart(9)} B sent   ${String(unpacked).padStart(9)} B unpacked  (target < 600 KB sent)`);

  let raw = 0;
  let br = 0;
  console.log(`  the same /pkg files from disk (what the build made):`);
  for (const name of [...fetched].sort()) {
    const buf = readFileSync(join(pkgDir, name));
    const b = brotli(buf);
    raw += buf.length;
    br += b;
    console.log(`    ${name.padEnd(48)} raw ${String(buf.length).padStart(9)} B   brotli ${String(b).padStart(8)} B`);
  }
  console.log(`    ${'shell total'.padEnd(48)} raw ${String(raw).padStart(9)} B   brotli ${String(br).padStart(8)} B  `);

  let allRaw = 0;
  let allBr = 0;
  let files = 0;
  for (const name of readdirSync(pkgDir)) {
    const p = join(pkgDir, name);
    if (!statSync(p).isFile() || !/\.(wasm|js|css)$/.test(name)) continue;
    const buf = readFileSync(p);
    allRaw += buf.length;
    allBr += brotli(buf);
    files += 1;
  }
  console.log(`  whole app (${files} files, every lazy chunk): raw ${allRaw} B   brotli ${allBr} B`);
} finally {
  await browser.close();
}
