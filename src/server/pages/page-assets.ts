import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AssetUrls } from './render-layout.js';

/**
 * The pages' stylesheets, scripts and icon: the files in `assets/` beside this module (src/ under
 * `npm start`, dist/ in the image, where `npm run build` copies them). Each is read once at start-up
 * and served under a name with its content hash (`/assets/base.3f9a1c0b2d.css`), cached for a year:
 * a new version has a new name. The plain name answers too, revalidated by ETag: the scripts are ES
 * modules, and what one imports (`./format.js`) is asked for by its plain name.
 */
const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

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
  const urls: Record<string, string> = {};
  for (const file of readdirSync(dir).sort()) {
    const dot = file.lastIndexOf('.');
    const type = TYPES[file.slice(dot)];
    if (!type) continue;
    const body = readFileSync(new URL(file, dir));
    const hash = createHash('sha256').update(body).digest('hex').slice(0, 10);
    const hashed = `${file.slice(0, dot)}.${hash}${file.slice(dot)}`;
    byName.set(hashed, { asset: { body, type, hash }, immutable: true });
    byName.set(file, { asset: { body, type, hash }, immutable: false });
    urls[file] = `/assets/${hashed}`;
  }
  return {
    urls,
    serve(name, req, res) {
      const found = byName.get(name);
      if (!found) return false;
      send(found.asset, found.immutable, req, res);
      return true;
    },
  };
}

function send(asset: Asset, immutable: boolean, req: IncomingMessage, res: ServerResponse): void {
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
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': String(asset.body.length) });
  res.end(asset.body);
}
