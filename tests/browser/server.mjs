// A deliberately plain static file server for the browser tests: node:http, a MIME table,
// no special headers (no COOP/COEP, no CSP, no caching tricks). If the built site works
// here, it works from any static host.
//
//     import { serveStatic } from './server.mjs';
//     const server = await serveStatic('web/dist');   // 127.0.0.1, a free port
//     server.url  // "http://127.0.0.1:PORT/"
//     await server.close();
//
// Or from a shell: node tests/browser/server.mjs web/dist [port]

import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wgsl': 'text/plain; charset=utf-8',
};

async function fileAt(root, urlPath) {
  let rel;
  try {
    rel = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  const path = normalize(join(root, rel));
  if (path !== root && !path.startsWith(root + sep)) return null; // no escaping the root
  try {
    const s = await stat(path);
    if (s.isFile()) return { path, size: s.size };
    if (s.isDirectory()) {
      const index = join(path, 'index.html');
      const si = await stat(index);
      if (si.isFile()) return { path: index, size: si.size };
    }
  } catch {
    // not found
  }
  return null;
}

/** Serves `dir` on 127.0.0.1 (port 0: a free one). Resolves to { url, port, requests, close() }. */
export async function serveStatic(dir, port = 0) {
  const root = resolve(dir);
  const requests = []; // "GET /path 200", for diagnostics
  const server = createServer(async (req, res) => {
    const urlPath = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      requests.push(`${req.method} ${urlPath} 405`);
      return;
    }
    const file = await fileAt(root, urlPath);
    if (!file) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
      requests.push(`${req.method} ${urlPath} 404`);
      return;
    }
    const type = MIME[extname(file.path).toLowerCase()] ?? 'application/octet-stream';
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': file.size });
    requests.push(`${req.method} ${urlPath} 200`);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file.path).on('error', () => res.destroy()).pipe(res);
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', ok);
  });
  const actual = server.address().port;
  return {
    url: `http://127.0.0.1:${actual}/`,
    port: actual,
    requests,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections?.();
        server.close(() => ok());
      }),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? 'web/dist';
  const server = await serveStatic(dir, Number(process.argv[3] ?? 0));
  console.log(`serving ${resolve(dir)} at ${server.url}`);
}
