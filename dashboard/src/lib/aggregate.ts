// Grouped lines: runs of a group become one line (mean, median, min or max of the runs' values
// per bucket) with a band (min–max across runs, or the standard error of the mean).

import type { M4Bucket } from './m4';

export type AggregateLine = 'mean' | 'median' | 'min' | 'max';
export type AggregateBand = 'minmax' | 'stderr' | 'none';

export interface AggregatedSeries {
  buckets: M4Bucket[];
  band: { x: number; lo: number; hi: number }[];
}

function median(values: number[]): number {
  const s = values.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Buckets are aligned by their start x (the server buckets every series over the same range). */
export function aggregateRuns(series: readonly M4Bucket[][], line: AggregateLine, band: AggregateBand): AggregatedSeries {
  const byStart = new Map<number, M4Bucket[]>();
  for (const buckets of series) {
    for (const b of buckets) {
      if (!Number.isFinite(b.last)) continue;
      let list = byStart.get(b.xStart);
      if (!list) byStart.set(b.xStart, (list = []));
      list.push(b);
    }
  }
  const starts = [...byStart.keys()].sort((a, b) => a - b);
  const out: AggregatedSeries = { buckets: [], band: [] };
  for (const start of starts) {
    const list = byStart.get(start)!;
    const values = list.map((b) => b.last);
    const n = values.length;
    const mean = values.reduce((a, b) => a + b, 0) / n;
    const value = line === 'mean' ? mean : line === 'median' ? median(values) : line === 'min' ? Math.min(...values) : Math.max(...values);
    const x = list.reduce((a, b) => a + b.lastX, 0) / n;
    const end = Math.max(...list.map((b) => b.xEnd));
    out.buckets.push({ xStart: start, xEnd: end, lastX: x, first: value, min: value, max: value, last: value, count: n });
    if (band === 'minmax') {
      out.band.push({ x, lo: Math.min(...values), hi: Math.max(...values) });
    } else if (band === 'stderr') {
      const variance = n > 1 ? values.reduce((a, v) => a + (v - mean) * (v - mean), 0) / (n - 1) : 0;
      const se = Math.sqrt(variance / n);
      out.band.push({ x, lo: value - se, hi: value + se });
    }
  }
  return out;
}
