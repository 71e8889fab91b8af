/** What the bench reads from an app's Prometheus text at /metrics. */

export interface BatchStats {
  batches: number;
  seconds: number;
  events: number;
}

export interface BatchFigures {
  batches: number;
  events: number;
  eventsPerBatch: number | null;
  msPerBatch: number | null;
}

/** The consumer's own batch metrics; null if it does not expose them. */
export async function batchStats(consumerUrl: string): Promise<BatchStats | null> {
  const text = await metricsText(consumerUrl);
  if (text === null) return null;
  const batches = metricValue(text, 'conversation_sync_batch_duration_seconds_count');
  const seconds = metricValue(text, 'conversation_sync_batch_duration_seconds_sum');
  const events = metricValue(text, 'conversation_sync_events_applied_total');
  if (batches === null || seconds === null || events === null) return null;
  return { batches, seconds, events };
}

export function diffBatches(after: BatchStats | null, before: BatchStats | null): BatchFigures | null {
  if (!after || !before) return null;
  const batches = after.batches - before.batches;
  return {
    batches,
    events: after.events - before.events,
    eventsPerBatch: batches > 0 ? Math.round((after.events - before.events) / batches) : null,
    msPerBatch: batches > 0 ? Math.round(((after.seconds - before.seconds) * 1000 * 10) / batches) / 10 : null,
  };
}

export async function metricsText(appUrl: string): Promise<string | null> {
  try {
    const response = await fetch(`${appUrl}/metrics`);
    return response.ok ? await response.text() : null;
  } catch {
    return null;
  }
}

/** The first sample of `name` (any labels), or null when the metric is absent. */
export function metricValue(text: string, name: string): number | null {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : null;
}

/**
 * The cursor's lag (`now − W`, seconds), a gauge the partition-parallel ingest
 * of issue 14 adds to the apps. Until one exposes it, phases report it as not available.
 */
export const CURSOR_LAG_METRIC = 'conversation_sync_cursor_lag_seconds';

export interface Percentiles {
  p50: number;
  p99: number;
  samples: number;
}

/** Scrapes one metric from each app's /metrics every `everyMs` while a phase runs. */
export class MetricSampler {
  private readonly samples: number[] = [];
  private timer?: NodeJS.Timeout;
  private scraping = false;

  constructor(
    private readonly appUrls: string[],
    private readonly metric: string,
    private readonly everyMs = 250,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.scrape(), this.everyMs);
  }

  /** Stops sampling; null when no app exposed the metric. */
  stop(): Percentiles | null {
    clearInterval(this.timer);
    return percentiles(this.samples);
  }

  private async scrape(): Promise<void> {
    if (this.scraping) return;
    this.scraping = true;
    try {
      for (const url of this.appUrls) {
        const text = await metricsText(url);
        const value = text === null ? null : metricValue(text, this.metric);
        if (value !== null && Number.isFinite(value)) this.samples.push(value);
      }
    } finally {
      this.scraping = false;
    }
  }
}

export function percentiles(values: number[]): Percentiles | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { p50: at(0.5), p99: at(0.99), samples: sorted.length };
}
