import {
  Counter,
  type CounterConfiguration,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type HistogramConfiguration,
  Registry,
} from 'prom-client';
import {
  COUNTERS,
  type CounterName,
  HISTOGRAMS,
  type HistogramName,
  type HistogramSeries,
  type MetricsReader,
} from '../domain/metrics.js';

type Labels = Record<string, string>;

const toLabels = (names: readonly string[], values: string[]): Labels =>
  Object.fromEntries(names.map((name, i) => [name, values[i] ?? '']));

/**
 * A histogram whose buckets, sum and count are read from the store at each scrape instead of being
 * observed in this process. prom-client has no setter for a histogram's buckets, so `get` (and
 * `getForPromString`, which the registry prefers) produce the exported values themselves, in the
 * shape prom-client's own Histogram gives them.
 */
class StoredHistogram extends Histogram<string> {
  constructor(
    private readonly config: HistogramConfiguration<string>,
    private readonly read: () => Promise<HistogramSeries[]>,
  ) {
    super(config);
  }

  override async get(): ReturnType<Histogram<string>['get']> {
    const series = await this.read();
    const { name, help, labelNames = [], buckets = [] } = this.config;
    const values = series.flatMap((s) => {
      const labels = toLabels(labelNames, s.labels);
      const bucket = (le: number | string, value: number) => ({
        labels: { ...labels, le },
        value,
        metricName: `${name}_bucket`,
      });
      return [
        ...buckets.map((le, i) => bucket(le, s.buckets[i] ?? 0)),
        bucket('+Inf', s.count),
        { labels, value: s.sum, metricName: `${name}_sum` },
        { labels, value: s.count, metricName: `${name}_count` },
      ];
    });
    // The registry writes `type` into `# TYPE` as is: the string, whatever the typings' enum says.
    const exported = { name, help, type: 'histogram', values, aggregator: 'sum' };
    return exported as unknown as Awaited<ReturnType<Histogram<string>['get']>>;
  }

  getForPromString() {
    return this.get();
  }
}

function storedCounter(registry: Registry, reader: MetricsReader, which: CounterName) {
  const { name, help, labels } = COUNTERS[which];
  const config: CounterConfiguration<string> = {
    name,
    help,
    labelNames: labels,
    registers: [registry],
    // Read first, then reset and fill without awaiting: two scrapes at once never mix their values.
    async collect() {
      const series = await reader.counter(which);
      this.reset();
      for (const s of series) this.inc(toLabels(labels, s.labels), s.value);
    },
  };
  return new Counter(config);
}

function storedHistogram(registry: Registry, reader: MetricsReader, which: HistogramName) {
  const { name, help, labels, buckets } = HISTOGRAMS[which];
  return new StoredHistogram(
    { name, help, labelNames: labels, buckets: [...buckets], registers: [registry] },
    () => reader.histogram(which),
  );
}

/**
 * What `GET /metrics` exports: Patchbay's series as the store holds them for the whole deployment
 * (every worker's counts), the task queue's jobs by state, and this process's own Node.js metrics.
 */
export function createMetricsRegistry({ reader }: { reader: MetricsReader }): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const which of Object.keys(COUNTERS) as CounterName[]) storedCounter(registry, reader, which);
  for (const which of Object.keys(HISTOGRAMS) as HistogramName[]) storedHistogram(registry, reader, which);
  new Gauge({
    name: 'patchbay_queue_jobs',
    help: 'Jobs in the task queue by BullMQ state (waiting, active, delayed, prioritized, failed, completed, …)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const counts = await reader.jobCounts();
      this.reset();
      for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
    },
  });
  return registry;
}
