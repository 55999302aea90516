// From M4 buckets (first/min/max/last per x bucket, exact) to screen geometry: a line through the
// last value of each bucket and, per bucket, a vertical min–max extent at least one pixel wide, so
// every logged extreme (a one-step spike among 1,000,000 steps included) lands on a drawn pixel.

export interface M4Bucket {
  /** Inclusive x range the bucket covers (in the chart's x units). */
  xStart: number;
  xEnd: number;
  /** x of the bucket's last point: where the line passes. */
  lastX: number;
  first: number;
  min: number;
  max: number;
  last: number;
  count: number;
}

export interface Viewport {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  /** Plot area in pixels; (left, top) is the origin of the plot area. */
  left: number;
  top: number;
  width: number;
  height: number;
  logX?: boolean;
  logY?: boolean;
}

export interface M4Geometry {
  /** Flat [x, y, x, y, ...] pixel coordinates of the line through each bucket's last value. */
  line: Float64Array;
  /** Flat [xLeft, xRight, yTop, yBottom, ...] pixel rectangles of each bucket's min–max extent. */
  bands: Float64Array;
}

const LOG_FLOOR = 1e-300;

function transform(v: number, log: boolean | undefined): number {
  return log ? Math.log10(Math.max(v, LOG_FLOOR)) : v;
}

export function xToPx(x: number, vp: Viewport): number {
  const a = transform(vp.x0, vp.logX);
  const b = transform(vp.x1, vp.logX);
  return vp.left + ((transform(x, vp.logX) - a) / (b - a || 1)) * vp.width;
}

export function yToPx(y: number, vp: Viewport): number {
  const a = transform(vp.y0, vp.logY);
  const b = transform(vp.y1, vp.logY);
  return vp.top + vp.height - ((transform(y, vp.logY) - a) / (b - a || 1)) * vp.height;
}

export function pxToX(px: number, vp: Viewport): number {
  const a = transform(vp.x0, vp.logX);
  const b = transform(vp.x1, vp.logX);
  const t = a + ((px - vp.left) / vp.width) * (b - a);
  return vp.logX ? Math.pow(10, t) : t;
}

/**
 * One series' M4 buckets as columns (Float64Arrays, often views into the M4 answer itself): what the
 * charts draw from, with no object per bucket. Bucket i covers [start[i], end[i]]; a bucket without a
 * finite value has NaN min/max/last (a gap) and lastX = end. `first` and `count` are null when the
 * answer left them out.
 */
export class M4Columns {
  constructor(
    readonly start: Float64Array,
    readonly end: Float64Array,
    readonly lastX: Float64Array,
    readonly last: Float64Array,
    readonly min: Float64Array,
    readonly max: Float64Array,
    readonly first: Float64Array | null = null,
    readonly count: Float64Array | null = null,
  ) {}

  get length(): number {
    return this.start.length;
  }

  static readonly empty = new M4Columns(new Float64Array(0), new Float64Array(0), new Float64Array(0), new Float64Array(0), new Float64Array(0), new Float64Array(0));

  static fromBuckets(buckets: readonly M4Bucket[]): M4Columns {
    const column = (pick: (b: M4Bucket) => number) => Float64Array.from(buckets, pick);
    return new M4Columns(column((b) => b.xStart), column((b) => b.xEnd), column((b) => b.lastX), column((b) => b.last), column((b) => b.min), column((b) => b.max), column((b) => b.first), column((b) => b.count));
  }

  bucket(i: number): M4Bucket {
    return { xStart: this.start[i]!, xEnd: this.end[i]!, lastX: this.lastX[i]!, first: this.first ? this.first[i]! : NaN, min: this.min[i]!, max: this.max[i]!, last: this.last[i]!, count: this.count ? this.count[i]! : 0 };
  }

  toBuckets(): M4Bucket[] {
    const out: M4Bucket[] = new Array(this.length);
    for (let i = 0; i < out.length; i++) out[i] = this.bucket(i);
    return out;
  }

  /** Buckets [from, to) as views of the same arrays (no copy). */
  slice(from: number, to: number): M4Columns {
    const sub = (a: Float64Array) => a.subarray(from, to);
    return new M4Columns(sub(this.start), sub(this.end), sub(this.lastX), sub(this.last), sub(this.min), sub(this.max), this.first && sub(this.first), this.count && sub(this.count));
  }

  /** The buckets that intersect [lo, hi] (sorted by x: two binary searches, views, no copy); all of them for null. */
  clip(zoom: readonly [number, number] | null): M4Columns {
    if (!zoom) return this;
    // First bucket ending at or after lo; first bucket starting after hi.
    const from = lowerBound(this.end, zoom[0], this.length);
    let to = from;
    let hi = this.length;
    while (to < hi) {
      const mid = (to + hi) >> 1;
      if (this.start[mid]! <= zoom[1]) to = mid + 1;
      else hi = mid;
    }
    return from === 0 && to === this.length ? this : this.slice(from, to);
  }

  /** Index of the bucket nearest to x (by the x its line passes through), or -1 when there is none. */
  nearest(x: number): number {
    const n = this.length;
    if (n === 0) return -1;
    const i = Math.min(n - 1, lowerBound(this.end, x, n));
    return i > 0 && Math.abs(this.lastX[i - 1]! - x) < Math.abs(this.lastX[i]! - x) ? i - 1 : i;
  }
}

/** First index in sorted values[0, n) whose value is >= x. */
function lowerBound(values: Float64Array, x: number, n: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Pixel geometry for one series; buckets must be sorted by x. Buckets with no finite value are skipped (gaps). */
export function m4Geometry(buckets: readonly M4Bucket[] | M4Columns, vp: Viewport): M4Geometry {
  const c = buckets instanceof M4Columns ? buckets : M4Columns.fromBuckets(buckets);
  const n = c.length;
  const line = new Float64Array(n * 2);
  const bands = new Float64Array(n * 4);
  // xToPx / yToPx with the viewport's constants hoisted out of the loop.
  const xa = transform(vp.x0, vp.logX);
  const xScale = vp.width / (transform(vp.x1, vp.logX) - xa || 1);
  const ya = transform(vp.y0, vp.logY);
  const yScale = vp.height / (transform(vp.y1, vp.logY) - ya || 1);
  const yBase = vp.top + vp.height;
  const logX = vp.logX;
  const logY = vp.logY;
  const px = (x: number) => vp.left + ((logX ? transform(x, true) : x) - xa) * xScale;
  const py = (y: number) => yBase - ((logY ? transform(y, true) : y) - ya) * yScale;
  let li = 0;
  let bi = 0;
  for (let i = 0; i < n; i++) {
    const min = c.min[i]!;
    const max = c.max[i]!;
    if (!(Number.isFinite(min) && Number.isFinite(max))) continue;
    const left = px(c.start[i]!);
    const right = px(c.end[i]!);
    // At least one pixel wide, centred on the bucket, so a single-step bucket is still painted.
    const centre = (left + right) / 2;
    const half = Math.max(0.5, (right - left) / 2);
    const top = py(max);
    const bottom = py(min);
    bands[bi++] = centre - half;
    bands[bi++] = centre + half;
    bands[bi++] = top;
    bands[bi++] = Math.max(bottom, top + 1);
    const last = c.last[i]!;
    if (Number.isFinite(last)) {
      line[li++] = px(c.lastX[i]!);
      line[li++] = py(last);
    }
  }
  return { line: line.subarray(0, li), bands: bands.subarray(0, bi) };
}

/** Media type of the compact M4 answer (`?format=columns`, functions/core/Query/M4Wire.cs). */
export const M4_COLUMNS_TYPE = 'application/vnd.weightless.m4-columns';

/** The columns the charts draw from (the answer has 12; these 6 are half of the bytes). */
export const M4_COLUMNS = ['start', 'end', 'lastX', 'lastY', 'minY', 'maxY'] as const;

/** Read when the answer has them (first value, points in the bucket); NaN and 0 otherwise. */
const OPTIONAL_COLUMNS = ['firstY', 'count'] as const;

/** One run's metric: its buckets as columns; `buckets` (objects) is built on first use only. */
export interface M4Series {
  run: string;
  metric: string;
  /** Where the server read it from (rollup pages or raw rows), when the answer says. */
  source?: string;
  readonly columns: M4Columns;
  readonly buckets: M4Bucket[];
}

/** A series over columns whose bucket objects are made only if something asks for them (aggregation, tests). */
export function m4Series(run: string, metric: string, columns: M4Columns, source?: string): M4Series {
  let buckets: M4Bucket[] | null = null;
  return {
    run,
    metric,
    ...(source === undefined ? {} : { source }),
    columns,
    get buckets() {
      return (buckets ??= columns.toBuckets());
    },
  };
}

export interface M4ColumnsAnswer {
  xAxis: string;
  buckets: number;
  series: M4Series[];
}

const LITTLE_ENDIAN = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;

/**
 * Reads the compact M4 answer: "WM4C", a uint32 header length h, h bytes of JSON header
 * ({xAxis, buckets, columns, series: [{run, metric, source, count}]}), then per series per column
 * `count` little-endian Float64s, 8-byte aligned so they are viewed in place: the series' columns are
 * views into the answer (no copy, no object per bucket). A bucket without a finite value has NaN
 * points; it keeps its x range (lastX = end), as the JSON answer's reader did.
 */
export function decodeM4Columns(buffer: ArrayBuffer): M4ColumnsAnswer {
  const bytes = new Uint8Array(buffer);
  if (bytes.length < 8 || String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!) !== 'WM4C') throw new Error('Not an M4 columns answer.');
  const view = new DataView(buffer);
  const headerLength = view.getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as {
    xAxis: string;
    buckets: number;
    columns: string[];
    series: { run: string; metric: string; source: string; count: number }[];
  };
  const index = new Map(header.columns.map((c, i) => [c, i]));
  const missing = M4_COLUMNS.filter((c) => !index.has(c));
  if (missing.length) throw new Error(`The M4 answer lacks columns ${missing.join(', ')}.`);
  let offset = 8 + headerLength;
  const size = offset + header.series.reduce((n, s) => n + s.count, 0) * header.columns.length * 8;
  if (size !== bytes.length) throw new Error('The M4 answer is truncated or has trailing bytes.');
  const column = (count: number): Float64Array => {
    const values = LITTLE_ENDIAN ? new Float64Array(buffer, offset, count) : Float64Array.from({ length: count }, (_, i) => view.getFloat64(offset + i * 8, true));
    offset += count * 8;
    return values;
  };
  const series = header.series.map((s) => {
    const cols = header.columns.map(() => column(s.count));
    const [start, end, lastX, last, min, max] = M4_COLUMNS.map((c) => cols[index.get(c)!]!) as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
    const [first, count] = OPTIONAL_COLUMNS.map((c) => (index.has(c) ? cols[index.get(c)!]! : null));
    // An empty bucket's line x is its end (the server sends NaN there); the only write into the answer.
    for (let i = 0; i < s.count; i++) if (Number.isNaN(min[i]!)) lastX[i] = end[i]!;
    return m4Series(s.run, s.metric, new M4Columns(start, end, lastX, last, min, max, first, count), s.source);
  });
  return { xAxis: header.xAxis, buckets: header.buckets, series };
}

/** y extent over all buckets (for auto-ranging), optionally only those intersecting [x0, x1]. */
export function bucketExtent(buckets: readonly M4Bucket[], x0 = -Infinity, x1 = Infinity): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const b of buckets) {
    if (b.xEnd < x0 || b.xStart > x1) continue;
    if (Number.isFinite(b.min) && b.min < lo) lo = b.min;
    if (Number.isFinite(b.max) && b.max > hi) hi = b.max;
  }
  return [lo, hi];
}

/**
 * Exact M4 bucketing of raw points on the client (used when the server returns raw rows, e.g. fewer
 * points than buckets, and by tests as the brute-force reference). Buckets split [x0, x1] evenly.
 */
export function bucketize(xs: ArrayLike<number>, ys: ArrayLike<number>, count: number, x0: number, x1: number): M4Bucket[] {
  const width = (x1 - x0) / count || 1;
  const out: (M4Bucket | undefined)[] = new Array(count);
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    const y = ys[i]!;
    if (x < x0 || x > x1 || !Number.isFinite(y)) continue;
    const k = Math.min(count - 1, Math.floor((x - x0) / width));
    const b = out[k];
    if (!b) {
      out[k] = { xStart: x0 + k * width, xEnd: x0 + (k + 1) * width, lastX: x, first: y, min: y, max: y, last: y, count: 1 };
    } else {
      if (y < b.min) b.min = y;
      if (y > b.max) b.max = y;
      if (x >= b.lastX) {
        b.last = y;
        b.lastX = x;
      }
      b.count++;
    }
  }
  return out.filter((b): b is M4Bucket => b !== undefined);
}

/** Nice tick values for an axis range (1, 2, 5 × 10^k steps). */
export function niceTicks(lo: number, hi: number, approx: number): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi <= lo) return [lo];
  const raw = (hi - lo) / Math.max(1, approx);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return ticks;
}
