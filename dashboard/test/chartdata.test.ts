import { describe, expect, it } from 'vitest';
import type { M4Series } from '../src/lib/api';
import { clipBuckets, M4Cache, planRequests, type SeriesRange } from '../src/lib/chartdata';
import { bucketize, M4Columns, m4Series } from '../src/lib/m4';

const full: SeriesRange = { xAxis: '_step', zoom: null, buckets: 10 };
const zoomed: SeriesRange = { xAxis: '_step', zoom: [200, 400], buckets: 10 };

function series(run: string, metric: string, x0: number, x1: number): M4Series {
  const xs = Array.from({ length: x1 - x0 + 1 }, (_, i) => x0 + i);
  return m4Series(run, metric, M4Columns.fromBuckets(bucketize(xs, xs.map((x) => Math.sin(x)), 10, x0, x1)));
}

describe('M4Cache', () => {
  it('remembers answers per range and pairs asked for but not logged', () => {
    const cache = new M4Cache();
    cache.put(full, { metrics: ['loss', 'acc'], runs: ['a'] }, [series('a', 'loss', 0, 999)]);
    expect(cache.get(full, 'loss', 'a')?.buckets).toHaveLength(10);
    expect(cache.get(full, 'acc', 'a')).toBeNull();
    expect(cache.get(zoomed, 'loss', 'a')).toBeUndefined();
    expect(cache.complete({ id: 'p', range: full, metrics: ['loss', 'acc'], runs: ['a'] })).toBe(true);
    expect(cache.complete({ id: 'p', range: full, metrics: ['loss'], runs: ['a', 'b'] })).toBe(false);
  });

  it('previews a zoomed range with the loaded buckets that intersect it, unchanged', () => {
    const cache = new M4Cache();
    const loaded = series('a', 'loss', 0, 999);
    cache.put(full, { metrics: ['loss'], runs: ['a'] }, [loaded]);
    const preview = cache.preview(zoomed, 'loss', 'a')!;
    expect(preview.buckets.length).toBeGreaterThan(0);
    for (const b of preview.buckets) {
      expect(b.xEnd >= 200 && b.xStart <= 400).toBe(true);
      expect(loaded.buckets).toContainEqual(b);
    }
    expect(preview.buckets).toEqual(clipBuckets(loaded.buckets, [200, 400]));
    expect(cache.preview({ ...zoomed, xAxis: '_runtime' }, 'loss', 'a')).toBeUndefined();
  });

  it('prefers the narrowest loaded range that covers the new one', () => {
    const cache = new M4Cache();
    cache.put(full, { metrics: ['loss'], runs: ['a'] }, [series('a', 'loss', 0, 999)]);
    const narrow = series('a', 'loss', 100, 500);
    cache.put({ ...full, zoom: [100, 500] }, { metrics: ['loss'], runs: ['a'] }, [narrow]);
    expect(cache.preview(zoomed, 'loss', 'a')!.buckets).toEqual(clipBuckets(narrow.buckets, [200, 400]));
  });

  it('forgets the oldest ranges beyond its limit', () => {
    const cache = new M4Cache(2);
    for (let i = 0; i < 3; i++) cache.put({ ...full, zoom: [i, i + 10] }, { metrics: ['m'], runs: ['a'] }, []);
    expect(cache.has({ ...full, zoom: [0, 10] }, 'm', 'a')).toBe(false);
    expect(cache.has({ ...full, zoom: [2, 12] }, 'm', 'a')).toBe(true);
  });
});

describe('planRequests', () => {
  it('asks only for the missing pairs, in panel order, a pair once', () => {
    const cache = new M4Cache();
    cache.put(full, { metrics: ['loss'], runs: ['a', 'b'] }, []);
    const plan = planRequests(
      [
        { id: 'p1', range: full, metrics: ['loss'], runs: ['a', 'b'] },
        { id: 'p2', range: full, metrics: ['acc'], runs: ['a', 'b'] },
        { id: 'p3', range: full, metrics: ['acc', 'loss'], runs: ['a', 'b'] },
        { id: 'p4', range: zoomed, metrics: ['loss'], runs: ['a'] },
      ],
      cache,
      1,
    );
    expect(plan.map((p) => p.panelIds)).toEqual([['p2'], ['p4']]);
    expect(plan[0]!.request).toEqual({ runs: ['a', 'b'], metrics: ['acc'], xAxis: '_step', buckets: 10 });
    expect(plan[1]!.request).toMatchObject({ runs: ['a'], metrics: ['loss'], min: 200, max: 400 });
  });

  it('batches consecutive panels on one range and chunks to the API limits', () => {
    const runs = Array.from({ length: 150 }, (_, i) => `r${i}`);
    const needs = Array.from({ length: 4 }, (_, i) => ({ id: `p${i}`, range: full, metrics: [`m${i}`], runs }));
    const plan = planRequests(needs, new M4Cache(), 2);
    expect(plan).toHaveLength(4);
    expect(plan[0]!.request.metrics).toEqual(['m0', 'm1']);
    expect(plan[0]!.request.runs).toHaveLength(100);
    expect(plan[1]!.request.runs).toHaveLength(50);
    expect(plan[2]!.panelIds).toEqual(['p2', 'p3']);
  });
});

describe('planRequests batches', () => {
  it('never mixes on-screen and off-screen panels in one request', () => {
    const needs = ['a', 'b', 'c'].map((m, i) => ({ id: m, range: full, metrics: [m], runs: ['r'], batch: i === 0 ? 0 : 1 }));
    const plan = planRequests(needs, new M4Cache(), Infinity);
    expect(plan.map((p) => p.request.metrics)).toEqual([['a'], ['b', 'c']]);
  });
});
