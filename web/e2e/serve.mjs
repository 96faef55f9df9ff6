// A stand-in for Baton serving web/dist itself: static files from dist/
// with an index.html fallback for client routes, and /graphql proxied to a
// running `baton serve` (POST/GET and the graphql-ws WebSocket upgrade).
//
// Kept in this one file so it can be dropped once the Rust server serves
// the app (then e2e/run.mjs points the browser at baton directly).
//
// Also usable by hand:  node e2e/serve.mjs http://127.0.0.1:8080 [port]

import { createReadStream, promises as fs } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Starts the server; resolves to { url, close }.
 * @param {{ distDir: string, upstream: string, port?: number, host?: string }} options
 */
export async function startStaticProxy({ distDir, upstream, port = 0, host = '127.0.0.1' }) {
  const up = new URL(upstream);
  const root = path.resolve(distDir);
  const sockets = new Set();

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (url.pathname === '/graphql' || url.pathname.startsWith('/graphql/')) {
      proxyHttp(req, res, up);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    let file = path.join(root, decodeURIComponent(url.pathname));
    if (!file.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    let stat = await fs.stat(file).catch(() => null);
    if (stat?.isDirectory()) {
      file = path.join(file, 'index.html');
      stat = await fs.stat(file).catch(() => null);
    }
    if (!stat) {
      // A client route (no file extension) gets the app; a missing asset is a 404.
      if (path.extname(url.pathname) !== '') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      file = path.join(root, 'index.html');
      stat = await fs.stat(file).catch(() => null);
      if (!stat) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('dist/index.html is missing: run npm run build');
        return;
      }
    }
    const ext = path.extname(file);
    res.writeHead(200, {
      'content-type': TYPES[ext] ?? 'application/octet-stream',
      'content-length': stat.size,
      'cache-control': ext === '.html' ? 'no-cache' : 'public, max-age=31536000, immutable',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });

  // graphql-ws: replay the upgrade request to baton and splice the sockets.
  server.on('upgrade', (req, client, head) => {
    const upstreamSocket = net.connect(Number(up.port || 80), up.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i];
        const value = name.toLowerCase() === 'host' ? up.host : req.rawHeaders[i + 1];
        lines.push(`${name}: ${value}`);
      }
      upstreamSocket.write(lines.join('\r\n') + '\r\n\r\n');
      if (head?.length) upstreamSocket.write(head);
      upstreamSocket.pipe(client);
      client.pipe(upstreamSocket);
    });
    const destroyBoth = () => {
      client.destroy();
      upstreamSocket.destroy();
    };
    upstreamSocket.on('error', destroyBoth);
    client.on('error', destroyBoth);
    sockets.add(client);
    sockets.add(upstreamSocket);
    client.on('close', () => sockets.delete(client));
    upstreamSocket.on('close', () => sockets.delete(upstreamSocket));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const addr = server.address();
  const url = `http://${host}:${addr.port}`;
  return {
    url,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function proxyHttp(req, res, up) {
  const headers = { ...req.headers, host: up.host };
  const upstreamReq = http.request(
    { hostname: up.hostname, port: up.port || 80, method: req.method, path: req.url, headers },
    (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      upstreamRes.pipe(res);
    },
  );
  upstreamReq.on('error', (e) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`baton is not answering: ${e.message}`);
  });
  req.pipe(upstreamReq);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const upstream = process.argv[2] ?? process.env.BATON_URL ?? 'http://127.0.0.1:8080';
  const port = Number(process.argv[3] ?? 5174);
  const distDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');
  const { url } = await startStaticProxy({ distDir, upstream, port });
  console.log(`serving ${distDir} on ${url}, /graphql → ${upstream}`);
}
