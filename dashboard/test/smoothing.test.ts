import { describe, expect, it } from 'vitest';
import { emaSmooth, gaussianSmooth, runningAverage, tensorBoardEma, VIEWPORT_SCALE } from '../src/lib/smoothing';

describe('EMA (density-aware, de-biased)', () => {
  it('measures x distances in thousandths of the x range, so sparse points barely smooth each other', () => {
    // param 0.25 -> weight 0.5; x range 0.002, step 0.001 -> changeInX = 500 -> w = 0.5^500.
    expect(VIEWPORT_SCALE).toBe(1000);
    const w = Math.pow(0.5, 500);
    const out = emaSmooth([0, 0.001, 0.002], [1, 2, 4], 0.25);
    expect(out[0]).toBe(1);
    expect(out[1]).toBeCloseTo((1 * w + 2) / (w + 1), 12);
  });

  it('applies w = weight^changeInX with changeInX in thousandths of the x range', () => {
    // x = 0..1000 (range 1000), steps of 1 -> changeInX = 1 -> w = weight = sqrt(0.36) = 0.6.
    const xs = Array.from({ length: 1001 }, (_, i) => i);
    const ys = xs.map((x) => (x === 0 ? 10 : x === 1 ? 20 : x === 2 ? 0 : 0));
    const out = emaSmooth(xs, ys, 0.36);
    // i0: lastY = 10, debias = 1 -> 10
    // i1: lastY = 10*0.6 + 20 = 26, debias = 0.6 + 1 = 1.6 -> 16.25
    // i2: lastY = 26*0.6 + 0 = 15.6, debias = 1.6*0.6 + 1 = 1.96 -> 7.959183...
    expect(out[0]).toBeCloseTo(10, 12);
    expect(out[1]).toBeCloseTo(16.25, 12);
    expect(out[2]).toBeCloseTo(15.6 / 1.96, 12);
  });

  it('param 0 leaves the series unchanged and the weight is capped at 0.999', () => {
    const xs = [0, 1, 2, 3];
    expect(Array.from(emaSmooth(xs, [3, 1, 4, 1], 0))).toEqual([3, 1, 4, 1]);
    const capped = emaSmooth(Array.from({ length: 1001 }, (_, i) => i), Array.from({ length: 1001 }, (_, i) => (i === 0 ? 0 : 1)), 1);
    // weight 0.999 (not 1): i1 = (0*0.999 + 1)/(0.999 + 1)
    expect(capped[1]).toBeCloseTo(1 / 1.999, 12);
  });

  it('skips NaN without breaking the recurrence', () => {
    const xs = Array.from({ length: 1001 }, (_, i) => i);
    const ys = xs.map((x) => (x === 1 ? NaN : 2));
    const out = emaSmooth(xs, ys, 0.5);
    expect(Number.isNaN(out[1]!)).toBe(true);
    expect(out[2]).toBeCloseTo(2, 12);
  });
});

describe('TensorBoard EMA', () => {
  it('debiases by 1 - w^n', () => {
    // w = 0.5: i0 last = 0.5*1 = 0.5, debias 0.5 -> 1; i1 last = 0.25 + 0.5*3 = 1.75, debias 0.75 -> 2.333...
    const out = tensorBoardEma([1, 3], 0.5);
    expect(out[0]).toBeCloseTo(1, 12);
    expect(out[1]).toBeCloseTo(1.75 / 0.75, 12);
  });
});

describe('running average', () => {
  it('averages N points before and after, truncated at the ends', () => {
    const out = runningAverage([1, 2, 3, 4, 10], 1);
    expect(Array.from(out)).toEqual([1.5, 2, 3, 17 / 3, 7]);
  });
  it('window 0 is the identity', () => {
    expect(Array.from(runningAverage([5, 6, 7], 0))).toEqual([5, 6, 7]);
  });
});

describe('gaussian', () => {
  it('weights neighbours by exp(-d^2 / 2 sigma^2)', () => {
    // sigma 1, x = 0,1,2, y = 0,3,0: at x=1 weights e^-0.5, 1, e^-0.5 -> 3 / (1 + 2e^-0.5)
    const out = gaussianSmooth([0, 1, 2], [0, 3, 0], 1);
    const e = Math.exp(-0.5);
    expect(out[1]).toBeCloseTo(3 / (1 + 2 * e), 12);
    // at x=0: points at d=0,1,2 -> (0*1 + 3e^-0.5 + 0*e^-2) / (1 + e^-0.5 + e^-2)
    expect(out[0]).toBeCloseTo((3 * e) / (1 + e + Math.exp(-2)), 12);
  });
  it('only uses points within 3 sigma and handles uneven x', () => {
    const out = gaussianSmooth([0, 0.5, 10], [1, 1, 100], 1);
    expect(out[0]).toBeCloseTo(1, 12);
    expect(out[2]).toBeCloseTo(100, 12);
  });
});
