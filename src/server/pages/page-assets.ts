import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AssetUrls } from './render-layout.js';

/**
 * The pages' stylesheet, scripts and icon: files in `assets/` beside this module (src/ under `npm
 * start`, dist/ in the image, where `npm run build` copies them). Each is read once at start-up and
 * served under a name with its content hash (`/assets/pages.3f9a1c0b2d.css`), cached for a year:
 * a new version has a new name. The plain name answers too, revalidated by ETag.
 */
const FILES = {
  css: { file: 'pages.css', type: 'text/css; charset=utf-8' },
  icon: { file: 'icon.svg', type: 'image/svg+xml' },
  taskPage: { file: 'task-page.js', type: 'text/javascript; charset=utf-8' },
  dashboard: { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
} as const;

interface Asset {
  body: Buffer;
  type: string;
  hash: string;
}

export interface PageAssets {
  urls: AssetUrls;
  /** Answers `GET /assets/:name`; false when no asset has that name. */
  serve(name: string, req: IncomingMessage, res: ServerResponse): boolean;
}

export function loadPageAssets(dir: URL = new URL('./assets/', import.meta.url)): PageAssets {
  const byName = new Map<string, { asset: Asset; immutable: boolean }>();
  const urls = {} as Record<keyof typeof FILES, string>;
  for (const [key, { file, type }] of Object.entries(FILES) as [
    keyof typeof FILES,
    (typeof FILES)[keyof typeof FILES],
  ][]) {
    const body = readFileSync(new URL(file, dir));
    const hash = createHash('sha256').update(body).digest('hex').slice(0, 10);
    const asset = { body, type, hash };
    const dot = file.lastIndexOf('.');
    const hashed = `${file.slice(0, dot)}.${hash}${file.slice(dot)}`;
    byName.set(hashed, { asset, immutable: true });
    byName.set(file, { asset, immutable: false });
    urls[key] = `/assets/${hashed}`;
  }
  return {
    urls,
    serve(name, req, res) {
      const found = byName.get(name);
      if (!found) return false;
      const { asset, immutable } = found;
      const etag = `"${asset.hash}"`;
      const headers = {
        'content-type': asset.type,
        'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
        etag,
        'x-content-type-options': 'nosniff',
      };
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, headers);
        res.end();
        return true;
      }
      res.writeHead(200, { ...headers, 'content-length': String(asset.body.length) });
      res.end(asset.body);
      return true;
    },
  };
}
