import { describe, expect, it } from 'vitest';
import { bucketize, m4Geometry, niceTicks, xToPx, yToPx, type Viewport } from '../src/lib/m4';

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
