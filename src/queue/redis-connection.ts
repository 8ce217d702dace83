import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** Where Patchbay's Redis is: `REDIS_URL`, and whether it is a Redis Cluster (`PATCHBAY_REDIS_CLUSTER=1`). */
export interface RedisTarget {
  url: string;
  cluster: boolean;
}

/**
 * The connection options a `redis://` or `rediss://` URL stands for: host, port, database, username
 * and password (percent-decoded), and TLS for `rediss://` with the host's name for SNI and the
 * certificate check (managed Redis presents a certificate for its DNS name).
 */
export function redisOptionsFromUrl(url: string): RedisOptions {
  const parsed = new URL(url);
  const options: RedisOptions = {
    host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: Number(parsed.port || 6379),
  };
  if (parsed.username) options.username = decodeURIComponent(parsed.username);
  if (parsed.password) options.password = decodeURIComponent(parsed.password);
  const db = parsed.pathname.slice(1);
  if (db) options.db = Number(db);
  if (parsed.protocol === 'rediss:') options.tls = { servername: options.host };
  return options;
}

/**
 * Patchbay's client: a single Redis, or a Cluster reached through the URL's node (the rest are found
 * from it) with the URL's credentials and TLS for every node. A Cluster is handed around as the
 * `Redis` type: the commands Patchbay sends are the same, and each of them names keys of one slot.
 */
export function connectRedis(target: RedisTarget, extra: RedisOptions = {}): Redis {
  const options = redisOptionsFromUrl(target.url);
  if (!target.cluster) return new Redis({ ...options, ...extra });
  const { host, port, db: _db, ...perNode } = options;
  const { enableOfflineQueue, lazyConnect, ...nodeExtra } = extra;
  const cluster = new Cluster([{ host, port }], {
    redisOptions: { ...perNode, ...nodeExtra },
    enableOfflineQueue: enableOfflineQueue ?? true,
    lazyConnect,
    // Managed clusters announce nodes by IP behind a TLS name: keep the name for the certificate.
    dnsLookup: (address, callback) => callback(null, address),
  });
  return cluster as unknown as Redis;
}

/** Another connection like `redis` (blocking reads, subscriptions, WATCH), with `extra` options. */
export function duplicateRedis(redis: Redis, extra: RedisOptions = {}): Redis {
  if (!(redis as unknown as { isCluster?: boolean }).isCluster) return redis.duplicate(extra);
  const cluster = redis as unknown as Cluster;
  const { enableOfflineQueue, lazyConnect, ...nodeExtra } = extra;
  const copy = cluster.duplicate(undefined, {
    redisOptions: { ...cluster.options.redisOptions, ...nodeExtra },
    enableOfflineQueue: enableOfflineQueue ?? cluster.options.enableOfflineQueue,
    lazyConnect: lazyConnect ?? false,
  });
  return copy as unknown as Redis;
}

/**
 * Names under a Redis Cluster hash tag: every Patchbay key under the prefix's tag, and BullMQ's keys
 * under the queue name's (BullMQ's scripts touch many keys of one queue at once). Outside a Cluster
 * the names stay as they are, so that an upgrade reads what was written before.
 */
export function clusterNames(target: RedisTarget, names: { prefix: string; queueName: string }) {
  if (!target.cluster) return names;
  const tag = (name: string) => (name.includes('{') ? name : `{${name}}`);
  const prefix = names.prefix.includes('{') ? names.prefix : `{${names.prefix.replace(/:$/, '')}}:`;
  return { prefix, queueName: tag(names.queueName) };
}
