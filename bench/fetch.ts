/**
 * The Slack Web API client's calls: the CPU the calling process spends per call through Node's
 * built-in fetch and through Patchbay's keep-alive fetch (src/lib/keep-alive-fetch.ts), against a
 * loopback server in a process of its own answering as chat.postMessage does, in rounds taking
 * turns. Run with `npx tsx bench/fetch.ts` (BENCH_CALLS: calls per round, default 2,000).
 */
import { spawn } from 'node:child_process';
import { createKeepAliveFetch } from '../src/lib/keep-alive-fetch.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 2_000);
const ROUNDS = 3;

const serverCode = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify({ ok: true, channel: 'C0GENERAL', ts: '1700000000.000100', message: { text: 'x'.repeat(300) } }));
  });
});
server.keepAliveTimeout = 5000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;
const server = spawn(process.execPath, ['-e', serverCode], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise<number>((resolve) =>
  server.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
);
const url = `http://127.0.0.1:${port}/api/chat.postMessage`;
const init = (): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Bearer xoxb-bench' },
  body: 'channel=C0GENERAL&thread_ts=1700000000.000001&text=%F0%9F%91%80+On+it&unfurl_links=false',
  redirect: 'error',
  signal: AbortSignal.timeout(20_000),
});

const variants = [
  { name: 'built-in fetch (undici)', fetchFn: globalThis.fetch },
  { name: 'keep-alive fetch (node:http)', fetchFn: createKeepAliveFetch({ proxied: false }) },
];
const cpu = variants.map(() => [] as number[]);
const wall = variants.map(() => [] as number[]);
try {
  for (const v of variants) for (let i = 0; i < 300; i++) await (await v.fetchFn(url, init())).json();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, v] of variants.entries()) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let n = 0; n < CALLS; n++) await (await v.fetchFn(url, init())).json();
      const used = process.cpuUsage(c0);
      cpu[i]?.push((used.user + used.system) / CALLS);
      wall[i]?.push(((performance.now() - t0) * 1_000) / CALLS);
    }
  }
} finally {
  server.kill();
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
console.log(
  `\n| ${CALLS} calls × ${ROUNDS} rounds, one at a time | CPU µs per call (caller) | wall µs per call |`,
);
console.log('| --- | ---: | ---: |');
for (const [i, v] of variants.entries()) {
  console.log(`| ${v.name} | ${median(cpu[i] ?? []).toFixed(0)} | ${median(wall[i] ?? []).toFixed(0)} |`);
}
