// Line-plot smoothing, as W&B defines it (seed §5.1.1 "Smooth line plots"). All functions take
// parallel x/y arrays and return a new y array of the same length; non-finite y values are passed
// through as NaN and do not contribute to their neighbours.

export type SmoothingKind = 'none' | 'ema' | 'running' | 'gaussian' | 'tb-ema';

export interface SmoothingSettings {
  kind: SmoothingKind;
  /** EMA: 0..1; running average: window half-width N in points; gaussian: kernel std in x units. */
  param: number;
}

/** W&B's viewport scale: x distances are measured in thousandths of the visible x range. */
export const VIEWPORT_SCALE = 1000;

/**
 * Density-aware, de-biased exponential moving average:
 * smoothingWeight = min(sqrt(param), 0.999); per point changeInX = ((x[i]-x[i-1])/rangeOfX)*VIEWPORT_SCALE,
 * w = smoothingWeight^changeInX, lastY = lastY*w + y, debias = debias*w + 1, output lastY/debias.
 */
export function emaSmooth(xs: ArrayLike<number>, ys: ArrayLike<number>, param: number): Float64Array {
  const n = ys.length;
  const out = new Float64Array(n);
  const weight = Math.min(Math.sqrt(Math.max(param, 0)), 0.999);
  let minX = Infinity;
  let maxX = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = xs[i]!;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
  }
  const rangeOfX = maxX - minX || 1;
  let lastY = 0;
  let debias = 0;
  let prevX = n > 0 ? xs[0]! : 0;
  for (let i = 0; i < n; i++) {
    const y = ys[i]!;
    const x = xs[i]!;
    if (!Number.isFinite(y)) {
      out[i] = NaN;
      continue;
    }
    const changeInX = ((x - prevX) / rangeOfX) * VIEWPORT_SCALE;
    const w = Math.pow(weight, changeInX);
    lastY = lastY * w + y;
    debias = debias * w + 1;
    out[i] = lastY / debias;
    prevX = x;
  }
  return out;
}

/** TensorBoard-matching EMA (W&B "deprecated"): last = last*w + (1-w)*v; debias = 1 - w^numAccum. */
export function tensorBoardEma(ys: ArrayLike<number>, param: number): Float64Array {
  const out = new Float64Array(ys.length);
  const w = Math.min(Math.max(param, 0), 0.999);
  let last = 0;
  let count = 0;
  for (let i = 0; i < ys.length; i++) {
    const v = ys[i]!;
    if (!Number.isFinite(v)) {
      out[i] = NaN;
      continue;
    }
    last = last * w + (1 - w) * v;
    count++;
    const debias = w === 0 ? 1 : 1 - Math.pow(w, count);
    out[i] = last / debias;
  }
  return out;
}

/** Boxcar window of N points before and after each point (truncated at the ends). */
export function runningAverage(ys: ArrayLike<number>, halfWindow: number): Float64Array {
  const n = ys.length;
  const k = Math.max(0, Math.floor(halfWindow));
  const out = new Float64Array(n);
  // Prefix sums over finite values make this O(n) for any window.
  const sum = new Float64Array(n + 1);
  const cnt = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) {
    const v = ys[i]!;
    const finite = Number.isFinite(v);
    sum[i + 1] = sum[i]! + (finite ? v : 0);
    cnt[i + 1] = cnt[i]! + (finite ? 1 : 0);
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(ys[i]!)) {
      out[i] = NaN;
      continue;
    }
    const lo = Math.max(0, i - k);
    const hi = Math.min(n, i + k + 1);
    out[i] = (sum[hi]! - sum[lo]!) / (cnt[hi]! - cnt[lo]!);
  }
  return out;
}

/** Gaussian-kernel weighted average with std = sigma in x units, over points before and after (±3σ). */
export function gaussianSmooth(xs: ArrayLike<number>, ys: ArrayLike<number>, sigma: number): Float64Array {
  const n = ys.length;
  const out = new Float64Array(n);
  if (!(sigma > 0)) {
    for (let i = 0; i < n; i++) out[i] = Number.isFinite(ys[i]!) ? ys[i]! : NaN;
    return out;
  }
  const reach = 3 * sigma;
  const twoSigma2 = 2 * sigma * sigma;
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < n; i++) {
    const xi = xs[i]!;
    if (!Number.isFinite(ys[i]!)) {
      out[i] = NaN;
      continue;
    }
    while (lo < n && xs[lo]! < xi - reach) lo++;
    if (hi < i) hi = i;
    while (hi + 1 < n && xs[hi + 1]! <= xi + reach) hi++;
    let num = 0;
    let den = 0;
    for (let j = lo; j <= hi; j++) {
      const y = ys[j]!;
      if (!Number.isFinite(y)) continue;
      const d = xs[j]! - xi;
      const w = Math.exp(-(d * d) / twoSigma2);
      num += w * y;
      den += w;
    }
    out[i] = num / den;
  }
  return out;
}

export function smooth(xs: ArrayLike<number>, ys: ArrayLike<number>, settings: SmoothingSettings): Float64Array {
  switch (settings.kind) {
    case 'ema':
      return emaSmooth(xs, ys, settings.param);
    case 'tb-ema':
      return tensorBoardEma(ys, settings.param);
    case 'running':
      return runningAverage(ys, settings.param);
    case 'gaussian':
      return gaussianSmooth(xs, ys, settings.param);
    default:
      return Float64Array.from(ys as ArrayLike<number>);
  }
}
