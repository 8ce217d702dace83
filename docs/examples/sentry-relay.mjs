// Sentry signs its webhooks its own way: check Sentry's signature, then sign for POST /api/hooks/sentry.
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
const hmac = (key, text) => createHmac('sha256', key).update(text).digest('hex');
createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req.setEncoding('utf8')) body += chunk;
  const given = Buffer.from(String(req.headers['sentry-hook-signature']));
  const wanted = Buffer.from(hmac(process.env.SENTRY_CLIENT_SECRET, body));
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return res.writeHead(401).end();
  const ts = String(Math.floor(Date.now() / 1000));
  const headers = { 'content-type': 'application/json', 'x-patchbay-timestamp': ts, 'x-patchbay-delivery': String(req.headers['request-id'] ?? randomUUID()), 'x-patchbay-signature': `sha256=${hmac(process.env.PATCHBAY_HOOK_SECRET_SENTRY, `${ts}.${body}`)}` };
  res.writeHead((await fetch(`${process.env.PATCHBAY_URL}/api/hooks/sentry`, { method: 'POST', headers, body })).status).end();
}).listen(Number(process.env.RELAY_PORT ?? 8080));
