// The chart panels' M4 buckets in the browser: a cache keyed by (x axis, range, bucket count) and
// series, so a panel whose data did not change is never fetched again; a coarse preview of a new
// range from buckets already loaded (drawn at once on zoom, before the re-bucketed answer
// arrives); and the plan of M4 requests for the panels still missing data, in panel order
// (on-screen panels first), only for the (metric, run) pairs not loaded yet.

import type { M4Request, M4Series } from './api';
import { m4Series, type M4Bucket } from './m4';

/** The x axis, x range and bucket count one M4 answer is for. */
export interface SeriesRange {
  xAxis: string;
  /** null: each run's whole extent. */
  zoom: [number, number] | null;
  buckets: number;
}

/** One line panel's data needs: every metric for every run, over one range. */
export interface PanelNeed {
  id: string;
  range: SeriesRange;
  metrics: readonly string[];
  runs: readonly string[];
  /** Panels of different batches never share a request (e.g. 0 = on screen, 1 = off screen). */
  batch?: number;
}

export interface PlannedRequest {
  /** Panels this request completes (with the pairs already loaded). */
  panelIds: string[];
  range: SeriesRange;
  request: M4Request;
}

export const MAX_RUNS_PER_REQUEST = 100;
export const MAX_METRICS_PER_REQUEST = 50;

export function rangeKey(r: SeriesRange): string {
  return `${r.xAxis}\u0000${r.zoom ? `${r.zoom[0]},${r.zoom[1]}` : 'all'}\u0000${r.buckets}`;
}

const pairKey = (metric: string, run: string) => `${metric}\u0000${run}`;

interface CachedRange {
  range: SeriesRange;
  /** null: asked for and not logged by that run (nothing to draw, nothing to fetch again). */
  series: Map<string, M4Series | null>;
}

export class M4Cache {
  private readonly ranges = new Map<string, CachedRange>();

  /** Keeps the answers of the last <paramref name="maxRanges"/> ranges (a zoom history's worth). */
  constructor(private readonly maxRanges = 8) {}

  get(range: SeriesRange, metric: string, run: string): M4Series | null | undefined {
    return this.ranges.get(rangeKey(range))?.series.get(pairKey(metric, run));
  }

  has(range: SeriesRange, metric: string, run: string): boolean {
    return this.get(range, metric, run) !== undefined;
  }

  /** Stores an answer; requested pairs absent from it are remembered as not logged. */
  put(range: SeriesRange, request: { metrics: readonly string[]; runs: readonly string[] }, answer: readonly M4Series[]): void {
    const key = rangeKey(range);
    let entry = this.ranges.get(key);
    if (entry) {
      this.ranges.delete(key);
    } else {
      entry = { range, series: new Map() };
    }
    this.ranges.set(key, entry);
    for (const metric of request.metrics) for (const run of request.runs) if (!entry.series.has(pairKey(metric, run))) entry.series.set(pairKey(metric, run), null);
    for (const s of answer) entry.series.set(pairKey(s.metric, s.run), s);
    while (this.ranges.size > this.maxRanges) this.ranges.delete(this.ranges.keys().next().value!);
  }

  complete(need: PanelNeed): boolean {
    const entry = this.ranges.get(rangeKey(need.range));
    if (!entry) return need.metrics.length === 0 || need.runs.length === 0;
    return need.metrics.every((m) => need.runs.every((r) => entry.series.has(pairKey(m, r))));
  }

  /**
   * A coarser view of a series over <paramref name="range"/> from another range already loaded on
   * the same x axis: its buckets that intersect the range, unchanged (exact as far as they go;
   * nothing interpolated; views of the loaded columns, no copy). Prefers the narrowest loaded range
   * that covers the new one; else the widest loaded range (which then shows only part of the new range).
   */
  preview(range: SeriesRange, metric: string, run: string): M4Series | undefined {
    const want = rangeKey(range);
    let best: { span: number; covers: boolean; series: M4Series } | undefined;
    for (const [key, entry] of this.ranges) {
      if (key === want || entry.range.xAxis !== range.xAxis) continue;
      const series = entry.series.get(pairKey(metric, run));
      if (!series) continue;
      const span = entry.range.zoom ? entry.range.zoom[1] - entry.range.zoom[0] : Infinity;
      const covers = entry.range.zoom === null || (range.zoom !== null && entry.range.zoom[0] <= range.zoom[0] && entry.range.zoom[1] >= range.zoom[1]);
      const better = !best || (covers && !best.covers) || (covers === best.covers && (covers ? span < best.span : span > best.span));
      if (better) best = { span, covers, series };
    }
    if (!best) return undefined;
    return m4Series(run, metric, best.series.columns.clip(range.zoom));
  }
}

/** The buckets that intersect [lo, hi] (all of them for null); the reference for M4Columns.clip. */
export function clipBuckets(buckets: readonly M4Bucket[], zoom: [number, number] | null): M4Bucket[] {
  if (!zoom) return buckets.slice();
  return buckets.filter((b) => b.xEnd >= zoom[0] && b.xStart <= zoom[1]);
}

/**
 * M4 requests for the pairs the panels still miss, in the panels' order: consecutive panels on the
 * same range and batch share a request, up to <paramref name="panelsPerRequest"/> panels; a pair two panels
 * share is asked for once. Runs and metrics are chunked to the API's limits.
 */
export function planRequests(needs: readonly PanelNeed[], cache: M4Cache, panelsPerRequest: number): PlannedRequest[] {
  const planned = new Set<string>();
  const out: PlannedRequest[] = [];
  let batch: { range: SeriesRange; group: number; panelIds: string[]; metrics: Set<string>; runs: Set<string> } | null = null;
  const flush = () => {
    if (!batch) return;
    const metrics = [...batch.metrics];
    const runs = [...batch.runs];
    for (let m = 0; m < metrics.length; m += MAX_METRICS_PER_REQUEST) {
      for (let r = 0; r < runs.length; r += MAX_RUNS_PER_REQUEST) {
        const request: M4Request = { runs: runs.slice(r, r + MAX_RUNS_PER_REQUEST), metrics: metrics.slice(m, m + MAX_METRICS_PER_REQUEST), xAxis: batch.range.xAxis, buckets: batch.range.buckets };
        if (batch.range.zoom) {
          request.min = batch.range.zoom[0];
          request.max = batch.range.zoom[1];
        }
        out.push({ panelIds: batch.panelIds, range: batch.range, request });
      }
    }
    batch = null;
  };
  for (const need of needs) {
    const key = rangeKey(need.range);
    const metrics = new Set<string>();
    const runs = new Set<string>();
    for (const metric of need.metrics) {
      for (const run of need.runs) {
        const pair = key + '\u0001' + pairKey(metric, run);
        if (cache.has(need.range, metric, run) || planned.has(pair)) continue;
        planned.add(pair);
        metrics.add(metric);
        runs.add(run);
      }
    }
    if (metrics.size === 0) continue;
    const group = need.batch ?? 0;
    if (batch && (rangeKey(batch.range) !== key || batch.group !== group || batch.panelIds.length >= panelsPerRequest)) flush();
    batch ??= { range: need.range, group, panelIds: [], metrics: new Set(), runs: new Set() };
    batch.panelIds.push(need.id);
    for (const m of metrics) batch.metrics.add(m);
    for (const r of runs) batch.runs.add(r);
  }
  flush();
  return out;
}
