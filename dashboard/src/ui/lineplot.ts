// One line-plot panel on a canvas: every series drawn from its M4 buckets (min–max extent per
// bucket shaded, a line through each bucket's last value), optional smoothing with the raw line
// faint behind, log y, a crosshair tooltip listing every series at the hovered x, and drag-to-zoom
// (the owner re-requests buckets for the new range).

import { m4Geometry, niceTicks, pxToX, type M4Columns, type Viewport } from '../lib/m4';
import { smooth, type SmoothingSettings } from '../lib/smoothing';
import { formatValue } from '../lib/runs';
import { h } from './dom';

export interface PlotSeries {
  id: string;
  label: string;
  colour: string;
  /** The series' M4 buckets as columns (drawn with no object per bucket). */
  data: M4Columns;
  /** Optional aggregation band (e.g. stderr) drawn instead of the buckets' own min–max. */
  band?: { x: number; lo: number; hi: number }[];
}

export interface PlotSettings {
  smoothing: SmoothingSettings;
  logY: boolean;
  xLabel: string;
  /** The requested x range (zoom); null = the data's extent. */
  xRange: [number, number] | null;
}

/** The theme's plot colours, read once per task (one style read for a batch of panels, not three per panel). */
let colours: { bg: string; fg: string; grid: string } | null = null;
function themeColours(): { bg: string; fg: string; grid: string } {
  if (!colours) {
    const style = getComputedStyle(document.documentElement);
    const read = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
    colours = { bg: read('--plot-bg', '#ffffff'), fg: read('--fg-muted', '#666'), grid: read('--grid', '#e5e5e5') };
    setTimeout(() => (colours = null), 0);
  }
  return colours;
}

const MARGIN = { left: 56, right: 12, top: 8, bottom: 26 };

/** The plot's horizontal margins (axis labels): the plot area is the canvas width less these. */
export const PLOT_MARGIN_X = MARGIN.left + MARGIN.right;
const HEIGHT = 230;

export class LinePlot {
  readonly element: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  private readonly tooltip: HTMLElement;
  private readonly selection: HTMLElement;
  private series: PlotSeries[] = [];
  private settings: PlotSettings = { smoothing: { kind: 'none', param: 0 }, logY: false, xLabel: '_step', xRange: null };
  private viewport: Viewport | null = null;
  private smoothed = new Map<string, { xs: Float64Array; ys: Float64Array }>();
  private dragStart: number | null = null;

  constructor(
    private readonly onZoom: (range: [number, number] | null) => void,
  ) {
    this.canvas = h('canvas.plot-canvas', { tabIndex: 0, 'aria-label': 'line plot; drag to zoom, double-click or Escape to reset' });
    this.tooltip = h('div.plot-tooltip', { role: 'status' });
    this.selection = h('div.plot-selection');
    this.element = h('div.plot', null, this.canvas, this.selection, this.tooltip);
    this.canvas.addEventListener('mousemove', (e) => this.onMove(e));
    this.canvas.addEventListener('mouseleave', () => this.hideTooltip());
    this.canvas.addEventListener('mousedown', (e) => {
      this.dragStart = e.offsetX;
    });
    window.addEventListener('mouseup', (e) => this.onUp(e));
    this.canvas.addEventListener('dblclick', () => this.onZoom(null));
    this.canvas.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.onZoom(null);
    });
  }

  setData(series: PlotSeries[], settings: PlotSettings): void {
    this.series = series;
    this.settings = settings;
    this.smoothed.clear();
    if (settings.smoothing.kind !== 'none') {
      for (const s of series) {
        const { lastX, last } = s.data;
        let n = 0;
        for (let i = 0; i < last.length; i++) if (Number.isFinite(last[i]!)) n++;
        const xs = new Float64Array(n);
        const ys = new Float64Array(n);
        for (let i = 0, k = 0; i < last.length; i++) {
          if (!Number.isFinite(last[i]!)) continue;
          xs[k] = lastX[i]!;
          ys[k++] = last[i]!;
        }
        this.smoothed.set(s.id, { xs, ys: smooth(xs, ys, settings.smoothing) });
      }
    }
    this.render();
  }

  render(): void {
    const width = Math.max(200, this.element.clientWidth || 400);
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(width * dpr) || this.canvas.height !== Math.round(HEIGHT * dpr)) {
      this.canvas.width = Math.round(width * dpr);
      this.canvas.height = Math.round(HEIGHT * dpr);
      this.canvas.style.width = width + 'px';
      this.canvas.style.height = HEIGHT + 'px';
    }
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const { bg, fg, grid } = themeColours();
    ctx.fillStyle = bg;
    ctx.fillRect(0, 0, width, HEIGHT);

    const vp = this.computeViewport(width);
    this.viewport = vp;
    if (!vp) {
      ctx.fillStyle = fg;
      ctx.font = '12px system-ui, sans-serif';
      ctx.fillText('No data', width / 2 - 20, HEIGHT / 2);
      return;
    }
    // Grid and ticks.
    ctx.strokeStyle = grid;
    ctx.fillStyle = fg;
    ctx.lineWidth = 1;
    ctx.font = '11px system-ui, sans-serif';
    const xt = niceTicks(vp.x0, vp.x1, Math.max(2, Math.floor(vp.width / 90)));
    ctx.textAlign = 'center';
    for (const t of xt) {
      const px = Math.round(vp.left + ((t - vp.x0) / (vp.x1 - vp.x0)) * vp.width) + 0.5;
      ctx.beginPath();
      ctx.moveTo(px, vp.top);
      ctx.lineTo(px, vp.top + vp.height);
      ctx.stroke();
      ctx.fillText(formatTick(t), px, vp.top + vp.height + 15);
    }
    ctx.textAlign = 'right';
    const yt = vp.logY ? logTicks(vp.y0, vp.y1) : niceTicks(vp.y0, vp.y1, 5);
    for (const t of yt) {
      const py = Math.round(yPx(t, vp)) + 0.5;
      if (py < vp.top - 1 || py > vp.top + vp.height + 1) continue;
      ctx.beginPath();
      ctx.moveTo(vp.left, py);
      ctx.lineTo(vp.left + vp.width, py);
      ctx.stroke();
      ctx.fillText(formatTick(t), vp.left - 4, py + 4);
    }

    ctx.save();
    ctx.beginPath();
    ctx.rect(vp.left, vp.top, vp.width, vp.height);
    ctx.clip();
    const smoothing = this.settings.smoothing.kind !== 'none';
    for (const s of this.series) {
      const g = m4Geometry(s.data, vp);
      // Min–max extent per bucket: exact, at least a pixel wide, so no spike disappears.
      ctx.fillStyle = s.colour;
      ctx.strokeStyle = s.colour;
      ctx.globalAlpha = s.band ? 0.12 : 0.35;
      drawExtents(ctx, g.bands, dpr);
      if (s.band && s.band.length) {
        ctx.globalAlpha = 0.25;
        ctx.beginPath();
        s.band.forEach((p, i) => (i === 0 ? ctx.moveTo(xPx(p.x, vp), yPx(p.hi, vp)) : ctx.lineTo(xPx(p.x, vp), yPx(p.hi, vp))));
        for (let i = s.band.length - 1; i >= 0; i--) ctx.lineTo(xPx(s.band[i]!.x, vp), yPx(s.band[i]!.lo, vp));
        ctx.closePath();
        ctx.fill();
      }
      ctx.globalAlpha = smoothing ? 0.3 : 1;
      // One CSS pixel: a hairline for the CPU rasteriser, which strokes wider lines (1.5 px) ~20× slower
      // (the 100-run workspace spent seconds there).
      ctx.lineWidth = 1;
      strokeLine(ctx, g.line);
      const sm = this.smoothed.get(s.id);
      if (sm) {
        ctx.globalAlpha = 1;
        ctx.lineWidth = 2;
        ctx.beginPath();
        let started = false;
        for (let i = 0; i < sm.xs.length; i++) {
          const y = sm.ys[i]!;
          if (!Number.isFinite(y)) continue;
          const px = xPx(sm.xs[i]!, vp);
          const py = yPx(y, vp);
          if (!started) ctx.moveTo(px, py);
          else ctx.lineTo(px, py);
          started = true;
        }
        ctx.stroke();
      }
    }
    ctx.restore();
    ctx.globalAlpha = 1;
  }

  private computeViewport(width: number): Viewport | null {
    let x0 = Infinity;
    let x1 = -Infinity;
    let y0 = Infinity;
    let y1 = -Infinity;
    const range = this.settings.xRange;
    for (const s of this.series) {
      // The buckets intersecting the zoom range (views, no copy).
      const { start, lastX, min, max } = s.data.clip(range);
      for (let i = 0; i < start.length; i++) {
        const lo = min[i]!;
        if (!Number.isFinite(lo)) continue;
        if (start[i]! < x0) x0 = start[i]!;
        if (lastX[i]! > x1) x1 = lastX[i]!;
        if (lo < y0) y0 = lo;
        if (max[i]! > y1) y1 = max[i]!;
      }
      for (const p of s.band ?? []) {
        if (p.lo < y0) y0 = p.lo;
        if (p.hi > y1) y1 = p.hi;
      }
    }
    if (range) [x0, x1] = range;
    if (!Number.isFinite(x0) || !Number.isFinite(y0)) return null;
    if (x1 <= x0) x1 = x0 + 1;
    const logY = this.settings.logY && y1 > 0;
    if (logY) {
      y0 = Math.max(y0, y1 * 1e-12, Number.MIN_VALUE);
      y0 = Math.pow(10, Math.floor(Math.log10(y0)));
      y1 = Math.pow(10, Math.ceil(Math.log10(y1)));
    } else {
      // W&B's default: y spans min(values, 0) .. max when all values are positive.
      if (y0 > 0 && y0 < y1 * 0.5) y0 = 0;
      const pad = (y1 - y0) * 0.04 || Math.abs(y1) * 0.1 || 1;
      y0 = y0 === 0 ? 0 : y0 - pad;
      y1 += pad;
    }
    return {
      x0,
      x1,
      y0,
      y1,
      left: MARGIN.left,
      top: MARGIN.top,
      width: width - MARGIN.left - MARGIN.right,
      height: HEIGHT - MARGIN.top - MARGIN.bottom,
      logY,
    };
  }

  private onMove(e: MouseEvent): void {
    const vp = this.viewport;
    if (!vp) return;
    if (this.dragStart !== null) {
      const a = Math.max(vp.left, Math.min(this.dragStart, e.offsetX));
      const b = Math.min(vp.left + vp.width, Math.max(this.dragStart, e.offsetX));
      Object.assign(this.selection.style, { display: 'block', left: a + 'px', width: b - a + 'px', top: vp.top + 'px', height: vp.height + 'px' });
    }
    if (e.offsetX < vp.left || e.offsetX > vp.left + vp.width) return this.hideTooltip();
    const x = pxToX(e.offsetX, vp);
    const rows: HTMLElement[] = [];
    for (const s of this.series) {
      const i = s.data.nearest(x);
      if (i < 0 || !Number.isFinite(s.data.last[i]!)) continue;
      const b = s.data.bucket(i);
      const sm = this.smoothed.get(s.id);
      let value = formatValue(b.last);
      if (sm) {
        const i = nearestIndex(sm.xs, b.lastX);
        value = `${formatValue(sm.ys[i])} (${formatValue(b.last)})`;
      }
      const extent = b.min !== b.max ? ` [${formatValue(b.min)} … ${formatValue(b.max)}]` : '';
      rows.push(h('div.tt-row', null, h('span.swatch', { style: { background: s.colour } }), h('span.tt-name', null, s.label), h('span.tt-val', null, value + extent)));
    }
    this.tooltip.replaceChildren(h('div.tt-x', null, `${this.settings.xLabel} ${formatValue(Math.round(x * 1000) / 1000)}`), ...rows);
    this.tooltip.style.display = rows.length ? 'block' : 'none';
    const left = e.offsetX + 14 + 260 > this.element.clientWidth ? e.offsetX - 270 : e.offsetX + 14;
    Object.assign(this.tooltip.style, { left: Math.max(0, left) + 'px', top: '8px' });
  }

  private onUp(e: MouseEvent): void {
    const start = this.dragStart;
    this.dragStart = null;
    this.selection.style.display = 'none';
    const vp = this.viewport;
    if (start === null || !vp || e.target !== this.canvas) return;
    if (Math.abs(e.offsetX - start) < 5) return;
    const a = pxToX(Math.max(vp.left, Math.min(start, e.offsetX)), vp);
    const b = pxToX(Math.min(vp.left + vp.width, Math.max(start, e.offsetX)), vp);
    if (b > a) this.onZoom([a, b]);
  }

  private hideTooltip(): void {
    this.tooltip.style.display = 'none';
  }
}

function xPx(x: number, vp: Viewport): number {
  return vp.left + ((x - vp.x0) / (vp.x1 - vp.x0 || 1)) * vp.width;
}

function yPx(y: number, vp: Viewport): number {
  if (vp.logY) {
    const a = Math.log10(vp.y0);
    const b = Math.log10(vp.y1);
    return vp.top + vp.height - ((Math.log10(Math.max(y, 1e-300)) - a) / (b - a || 1)) * vp.height;
  }
  return vp.top + vp.height - ((y - vp.y0) / (vp.y1 - vp.y0 || 1)) * vp.height;
}

/**
 * Draws the min–max extents (flat [left, right, top, bottom] rectangles, see m4Geometry): one up to a device
 * pixel wide — every bucket when there is one per pixel — as a vertical one-device-pixel hairline over the
 * whole pixels it touches (Skia's hairline path, ~20× cheaper on a CPU rasteriser than a path of
 * rectangles: 100 runs × 20 panels took seconds); wider ones as pixel-aligned rectangles. Each kind is one
 * path drawn once, so overlaps within a series don't double the alpha.
 */
function drawExtents(ctx: CanvasRenderingContext2D, bands: Float64Array, dpr: number): void {
  const pixel = 1 / dpr;
  let wide = false;
  ctx.lineWidth = pixel;
  ctx.beginPath();
  for (let k = 0; k < bands.length; k += 4) {
    const left = bands[k]! * dpr;
    const right = bands[k + 1]! * dpr;
    if (right - left > 1.001) {
      wide = true;
      continue;
    }
    const x = (Math.floor((left + right) / 2) + 0.5) / dpr;
    const top = Math.floor(bands[k + 2]! * dpr);
    const bottom = Math.max(Math.ceil(bands[k + 3]! * dpr), top + 1);
    ctx.moveTo(x, top / dpr);
    ctx.lineTo(x, bottom / dpr);
  }
  ctx.stroke();
  if (!wide) return;
  ctx.beginPath();
  for (let k = 0; k < bands.length; k += 4) {
    const left = Math.floor(bands[k]! * dpr);
    const right = Math.ceil(bands[k + 1]! * dpr);
    if (bands[k + 1]! * dpr - bands[k]! * dpr <= 1.001) continue;
    const top = Math.floor(bands[k + 2]! * dpr);
    const bottom = Math.max(Math.ceil(bands[k + 3]! * dpr), top + 1);
    ctx.rect(left / dpr, top / dpr, (right - left) / dpr, (bottom - top) / dpr);
  }
  ctx.fill();
}

function strokeLine(ctx: CanvasRenderingContext2D, line: Float64Array): void {
  if (line.length < 2) return;
  ctx.beginPath();
  ctx.moveTo(line[0]!, line[1]!);
  for (let i = 2; i < line.length; i += 2) ctx.lineTo(line[i]!, line[i + 1]!);
  if (line.length === 2) ctx.lineTo(line[0]! + 1, line[1]!);
  ctx.stroke();
}

function nearestIndex(xs: Float64Array, x: number): number {
  let lo = 0;
  let hi = xs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6 || (a > 0 && a < 1e-3)) return v.toExponential(1);
  if (a >= 1000) return (v / 1000).toFixed(a >= 1e5 ? 0 : 1).replace(/\.0$/, '') + 'k';
  return String(Number(v.toPrecision(4)));
}

function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(Math.pow(10, e));
  return out;
}
