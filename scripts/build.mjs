// `npm run build`: compiles src/ to dist/ with tsc, then copies the pages' assets (stylesheet,
// browser scripts, icon) beside their compiled module, where src/server/pages/page-assets.ts looks
// for them. Arguments go to tsc; `--outDir <dir>` moves both (.ci/check-dist-loads builds elsewhere).
import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const ASSETS = 'src/server/pages/assets';

const args = process.argv.slice(2);
const outFlag = args.indexOf('--outDir');
const outDir = outFlag >= 0 && args[outFlag + 1] ? args[outFlag + 1] : 'dist';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', ...args], { stdio: 'inherit' });
cpSync(ASSETS, path.join(outDir, path.relative('src', ASSETS)), { recursive: true });
