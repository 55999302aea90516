import { describe, expect, it } from 'vitest';
import { clipBuckets } from '../src/lib/chartdata';
import { bucketize, decodeM4Columns, M4Columns, M4_COLUMNS, m4Geometry, niceTicks, xToPx, yToPx, type Viewport } from '../src/lib/m4';

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('bucketize (brute-force M4 reference)', () => {
  it('keeps first/min/max/last per bucket exactly', () => {
    const xs = [0, 1, 2, 3, 4, 5];
    const ys = [5, 1, 9, 2, 7, 3];
    const b = bucketize(xs, ys, 2, 0, 6);
    expect(b).toHaveLength(2);
    expect(b[0]).toMatchObject({ xStart: 0, xEnd: 3, first: 5, min: 1, max: 9, last: 9, lastX: 2, count: 3 });
    expect(b[1]).toMatchObject({ xStart: 3, xEnd: 6, first: 2, min: 2, max: 7, last: 3, lastX: 5, count: 3 });
  });
});

describe('m4Geometry', () => {
  const vp = (n: number, y0: number, y1: number): Viewport => ({ x0: 0, x1: n, y0, y1, left: 40, top: 10, width: 800, height: 300 });

  it('the min/max envelope contains every bucket extreme (random series)', () => {
    const rnd = lcg(42);
    const n = 50_000;
    const xs = Float64Array.from({ length: n }, (_, i) => i);
    const ys = Float64Array.from({ length: n }, () => (rnd() - 0.5) * 100);
    ys[12345] = 1e4;
    ys[40000] = -1e4;
    const buckets = bucketize(xs, ys, 1000, 0, n);
    const view = vp(n, -1e4, 1e4);
    const g = m4Geometry(buckets, view);
    expect(g.bands.length / 4).toBe(buckets.length);
    // every raw point is inside the band of the bucket that holds its x (pixel space)
    for (let i = 0; i < n; i += 7) {
      const px = xToPx(xs[i]!, view);
      const py = yToPx(ys[i]!, view);
      let inside = false;
      for (let k = 0; k < g.bands.length; k += 4) {
        if (px >= g.bands[k]! - 1e-9 && px <= g.bands[k + 1]! + 1e-9 && py >= g.bands[k + 2]! - 1e-9 && py <= g.bands[k + 3]! + 1e-9) {
          inside = true;
          break;
        }
      }
      expect(inside).toBe(true);
    }
    for (const i of [12345, 40000]) {
      const px = xToPx(i, view);
      const py = yToPx(ys[i]!, view);
      let hit = false;
      for (let k = 0; k < g.bands.length; k += 4) if (px >= g.bands[k]! && px <= g.bands[k + 1]! && Math.abs(py - (ys[i]! > 0 ? g.bands[k + 2]! : g.bands[k + 3]!)) < 1e-9) hit = true;
      expect(hit).toBe(true);
    }
  });

  it('a single-step spike in a 1,000,000-step series yields a vertical extent at its x, at least one pixel wide', () => {
    const n = 1_000_000;
    const spike = 654_321;
    const xs = new Float64Array(n);
    const ys = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      xs[i] = i;
      ys[i] = i === spike ? 100 : 1;
    }
    const buckets = bucketize(xs, ys, 1000, 0, n);
    const view = vp(n, 0, 100);
    const g = m4Geometry(buckets, view);
    const spikePx = xToPx(spike, view);
    let found = false;
    for (let k = 0; k < g.bands.length; k += 4) {
      const [l, r, top, bottom] = [g.bands[k]!, g.bands[k + 1]!, g.bands[k + 2]!, g.bands[k + 3]!];
      if (spikePx >= l && spikePx <= r && top <= yToPx(100, view) + 1e-9) {
        found = true;
        expect(r - l).toBeGreaterThanOrEqual(0.8);
        expect(bottom - top).toBeGreaterThan(view.height * 0.9);
      }
    }
    expect(found).toBe(true);
    // the line passes through the last value of each bucket (1 everywhere here)
    for (let k = 1; k < g.line.length; k += 2) expect(g.line[k]).toBeCloseTo(yToPx(1, view), 9);
  });

  it('a bucket holding one point still gets a one-pixel-wide, one-pixel-high mark', () => {
    const view = vp(1_000_000, 0, 10);
    const g = m4Geometry([{ xStart: 500, xEnd: 500, lastX: 500, first: 5, min: 5, max: 5, last: 5, count: 1 }], view);
    expect(g.bands[1]! - g.bands[0]!).toBeCloseTo(1, 9);
    expect(g.bands[3]! - g.bands[2]!).toBeCloseTo(1, 9);
  });

  it('skips empty/NaN buckets as gaps and honours log scale', () => {
    const view: Viewport = { x0: 0, x1: 10, y0: 1, y1: 1000, left: 0, top: 0, width: 100, height: 300, logY: true };
    const g = m4Geometry(
      [
        { xStart: 0, xEnd: 1, lastX: 1, first: 10, min: 10, max: 10, last: 10, count: 1 },
        { xStart: 1, xEnd: 2, lastX: 2, first: NaN, min: NaN, max: NaN, last: NaN, count: 0 },
        { xStart: 2, xEnd: 3, lastX: 3, first: 100, min: 100, max: 100, last: 100, count: 1 },
      ],
      view,
    );
    expect(g.line.length).toBe(4);
    expect(g.line[1]).toBeCloseTo(200, 9); // log10(10) is 1/3 of the way up 300 px
    expect(g.line[3]).toBeCloseTo(100, 9);
  });
});

describe('niceTicks', () => {
  it('produces 1/2/5 steps', () => {
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0, 1_000_000, 4)).toEqual([0, 200_000, 400_000, 600_000, 800_000, 1_000_000]);
  });
});

/** The server's layout (functions/core/Query/M4Wire.cs): "WM4C", header length, padded JSON header, Float64 columns. */
function encodeColumns(xAxis: string, columns: string[], series: { run: string; metric: string; source: string; rows: Record<string, number>[] }[]): ArrayBuffer {
  const header = new TextEncoder().encode(JSON.stringify({ xAxis, buckets: 3, columns, series: series.map((s) => ({ run: s.run, metric: s.metric, source: s.source, count: s.rows.length })) }));
  const headerLength = Math.ceil(header.length / 8) * 8;
  const values = series.reduce((n, s) => n + s.rows.length * columns.length, 0);
  const buffer = new ArrayBuffer(8 + headerLength + values * 8);
  const bytes = new Uint8Array(buffer);
  bytes.set([0x57, 0x4d, 0x34, 0x43]);
  const view = new DataView(buffer);
  view.setUint32(4, headerLength, true);
  bytes.fill(0x20, 8, 8 + headerLength);
  bytes.set(header, 8);
  let offset = 8 + headerLength;
  for (const s of series) for (const c of columns) for (const row of s.rows) (view.setFloat64(offset, row[c] ?? NaN, true), (offset += 8));
  return buffer;
}

describe('decodeM4Columns', () => {
  const full = { start: 0, end: 99, count: 100, nonFinite: 0, firstX: 0, firstY: 0.1, lastX: 98, lastY: 1 / 3, minX: 42, minY: -1e-300, maxX: 7, maxY: Number.MAX_VALUE };
  const empty = { start: 100, end: 199, count: 3, nonFinite: 3 };
  const edge = { start: 200, end: 2 ** 53 - 1, count: 2 ** 53 - 1, nonFinite: 0, firstX: 200, firstY: 5e-324, lastX: 2 ** 53 - 1, lastY: -0, minX: 201, minY: -Number.MAX_VALUE, maxX: 202, maxY: Math.PI };
  const all = ['start', 'end', 'count', 'nonFinite', 'firstX', 'firstY', 'lastX', 'lastY', 'minX', 'minY', 'maxX', 'maxY'];

  it('round-trips every bucket exactly (the server sends all 12 columns by default)', () => {
    const answer = decodeM4Columns(encodeColumns('_step', all, [
      { run: 'run-a', metric: 'loss', source: 'rollup', rows: [full, empty, edge] },
      { run: 'rün/b', metric: 'val/acc', source: 'raw', rows: [] },
    ]));
    expect(answer.xAxis).toBe('_step');
    expect(answer.series.map((s) => [s.run, s.metric, s.source, s.buckets.length])).toEqual([['run-a', 'loss', 'rollup', 3], ['rün/b', 'val/acc', 'raw', 0]]);
    const [a, b, c] = answer.series[0]!.buckets;
    expect(a).toEqual({ xStart: 0, xEnd: 99, lastX: 98, first: 0.1, min: -1e-300, max: Number.MAX_VALUE, last: 1 / 3, count: 100 });
    expect(b).toMatchObject({ xStart: 100, xEnd: 199, lastX: 199, count: 3 });
    expect([b!.first, b!.min, b!.max, b!.last].every(Number.isNaN)).toBe(true);
    expect(c).toEqual({ xStart: 200, xEnd: 2 ** 53 - 1, lastX: 2 ** 53 - 1, first: 5e-324, min: -Number.MAX_VALUE, max: Math.PI, last: -0, count: 2 ** 53 - 1 });
    expect(Object.is(c!.last, -0)).toBe(true);
  });

  it('reads the dashboard’s 6 columns in any order (and first/count when present), and rejects a short or foreign answer', () => {
    const columns = [...M4_COLUMNS, 'firstY', 'count'].reverse();
    const buffer = encodeColumns('_runtime', columns, [{ run: 'r', metric: 'm', source: 'raw', rows: [full, empty] }]);
    expect(decodeM4Columns(buffer).series[0]!.buckets[0]).toEqual({ xStart: 0, xEnd: 99, lastX: 98, first: 0.1, min: -1e-300, max: Number.MAX_VALUE, last: 1 / 3, count: 100 });
    const drawnOnly = encodeColumns('_runtime', [...M4_COLUMNS], [{ run: 'r', metric: 'm', source: 'raw', rows: [full, empty] }]);
    expect(decodeM4Columns(drawnOnly).series[0]!.buckets[0]).toEqual({ xStart: 0, xEnd: 99, lastX: 98, first: NaN, min: -1e-300, max: Number.MAX_VALUE, last: 1 / 3, count: 0 });
    expect(() => decodeM4Columns(buffer.slice(0, buffer.byteLength - 8))).toThrow(/truncated/);
    expect(() => decodeM4Columns(encodeColumns('_step', ['start', 'end'], []))).toThrow(/lacks columns/);
    expect(() => decodeM4Columns(new TextEncoder().encode('{"series":[]}').buffer as ArrayBuffer)).toThrow(/Not an M4/);
  });

  it('views the answer in place: the columns are Float64Arrays over its buffer, no object per bucket', () => {
    const buffer = encodeColumns('_step', all, [{ run: 'r', metric: 'm', source: 'rollup', rows: [full, empty, edge] }]);
    const { columns } = decodeM4Columns(buffer).series[0]!;
    expect(columns.length).toBe(3);
    for (const column of [columns.start, columns.end, columns.lastX, columns.last, columns.min, columns.max]) expect(column.buffer).toBe(buffer);
    expect(Array.from(columns.lastX)).toEqual([98, 199, 2 ** 53 - 1]);
    expect(m4Geometry(columns, { x0: 0, x1: 300, y0: 0, y1: 1, left: 0, top: 0, width: 300, height: 100 })).toEqual(m4Geometry(columns.toBuckets(), { x0: 0, x1: 300, y0: 0, y1: 1, left: 0, top: 0, width: 300, height: 100 }));
  });
});

describe('M4Columns', () => {
  const xs = Array.from({ length: 1000 }, (_, i) => i);
  const buckets = bucketize(xs, xs.map((x) => Math.cos(x / 7)), 37, 0, 999);
  const columns = M4Columns.fromBuckets(buckets);

  it('clips to the buckets intersecting a range as the bucket-object reference does', () => {
    for (const zoom of [[0, 999], [-50, 10], [200.5, 400.25], [999, 2000], [3000, 4000], [-10, -1]] as [number, number][]) {
      expect(columns.clip(zoom).toBuckets()).toEqual(clipBuckets(buckets, zoom));
    }
    expect(columns.clip(null)).toBe(columns);
  });

  it('finds the bucket nearest to an x, by where its line passes', () => {
    for (const x of [-5, 0, 13.4, 500, 998, 5000]) {
      const i = columns.nearest(x);
      const best = buckets.reduce((k, b, j) => (Math.abs(b.lastX - x) < Math.abs(buckets[k]!.lastX - x) ? j : k), 0);
      expect(Math.abs(buckets[i]!.lastX - x)).toBe(Math.abs(buckets[best]!.lastX - x));
    }
    expect(M4Columns.empty.nearest(3)).toBe(-1);
  });
});
