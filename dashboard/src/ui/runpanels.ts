// Panels drawn from the runs' config and summary rather than history: scatter, bar, parallel
// coordinates (canvases with a hover tooltip) and the run comparer (a table). They redraw from
// the loaded run index, so they never request anything.

import { niceTicks } from '../lib/m4';
import { bars, compareRuns, parallelAxes, parallelLines, scatterPoints, type PanelRun } from '../lib/runpanels';
import { formatValue } from '../lib/runs';
import type { PanelSpec } from '../lib/layout';
import { cssVar, h } from './dom';

const HEIGHT = 230;
const M = { left: 56, right: 16, top: 12, bottom: 30 };

export interface RunPanel {
  readonly element: HTMLElement;
  draw(runs: readonly PanelRun[]): void;
}

interface Hit {
  x: number;
  y: number;
  text: string;
}

/** A canvas sized to its box with theme colours, a tooltip for the nearest hit target, and keyboard focus. */
abstract class CanvasPanel implements RunPanel {
  readonly element: HTMLElement;
  protected readonly canvas = h('canvas.plot-canvas.run-panel-canvas', { tabIndex: 0 });
  private readonly tooltip = h('div.plot-tooltip', { role: 'status' });
  protected hits: Hit[] = [];

  constructor(protected readonly spec: PanelSpec, label: string) {
    this.canvas.setAttribute('aria-label', label);
    this.element = h('div.plot', null, this.canvas, this.tooltip);
    this.canvas.addEventListener('mousemove', (e) => this.hover(e.offsetX, e.offsetY));
    this.canvas.addEventListener('mouseleave', () => (this.tooltip.style.display = 'none'));
  }

  abstract draw(runs: readonly PanelRun[]): void;

  protected context(): { ctx: CanvasRenderingContext2D; width: number; fg: string; grid: string } | null {
    const width = Math.max(200, this.element.clientWidth || 400);
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(HEIGHT * dpr);
    this.canvas.style.width = width + 'px';
    this.canvas.style.height = HEIGHT + 'px';
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return null;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = cssVar('--plot-bg') || '#ffffff';
    ctx.fillRect(0, 0, width, HEIGHT);
    ctx.font = '11px system-ui, sans-serif';
    this.hits = [];
    return { ctx, width, fg: cssVar('--fg-muted') || '#666', grid: cssVar('--grid') || '#e5e5e5' };
  }

  protected message(ctx: CanvasRenderingContext2D, width: number, fg: string, text: string): void {
    ctx.fillStyle = fg;
    ctx.textAlign = 'center';
    ctx.fillText(text, width / 2, HEIGHT / 2);
  }

  /** Grid lines and labels of a numeric y axis over [lo, hi]; returns the value → pixel map. */
  protected yAxis(ctx: CanvasRenderingContext2D, width: number, lo: number, hi: number, fg: string, grid: string): (v: number) => number {
    const span = hi - lo || Math.abs(hi) || 1;
    const y0 = hi === lo ? lo - span / 2 : lo;
    const y1 = hi === lo ? hi + span / 2 : hi;
    const py = (v: number) => M.top + (1 - (v - y0) / (y1 - y0)) * (HEIGHT - M.top - M.bottom);
    ctx.strokeStyle = grid;
    ctx.fillStyle = fg;
    ctx.textAlign = 'right';
    for (const t of niceTicks(y0, y1, 5)) {
      const y = Math.round(py(t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(M.left, y);
      ctx.lineTo(width - M.right, y);
      ctx.stroke();
      ctx.fillText(formatValue(t), M.left - 4, y + 4);
    }
    return py;
  }

  private hover(x: number, y: number): void {
    let best: Hit | null = null;
    let bestD = 400;
    for (const hit of this.hits) {
      const d = (hit.x - x) ** 2 + (hit.y - y) ** 2;
      if (d < bestD) {
        bestD = d;
        best = hit;
      }
    }
    if (!best) {
      this.tooltip.style.display = 'none';
      return;
    }
    this.tooltip.textContent = best.text;
    this.tooltip.style.display = 'block';
    this.tooltip.style.left = `${Math.min(best.x + 12, this.element.clientWidth - 160)}px`;
    this.tooltip.style.top = `${Math.max(0, best.y - 30)}px`;
  }
}

class ScatterPanel extends CanvasPanel {
  constructor(spec: PanelSpec) {
    super(spec, `scatter plot of ${spec.y} against ${spec.x}`);
  }

  draw(runs: readonly PanelRun[]): void {
    const c = this.context();
    if (!c) return;
    const { ctx, width, fg, grid } = c;
    const { points, missing } = scatterPoints(runs, this.spec.x ?? '', this.spec.y ?? '');
    this.element.dataset['points'] = String(points.length);
    if (points.length === 0) return this.message(ctx, width, fg, `No runs with numbers at ${this.spec.x} and ${this.spec.y}`);
    let xLo = Infinity, xHi = -Infinity, yLo = Infinity, yHi = -Infinity;
    for (const p of points) {
      xLo = Math.min(xLo, p.x);
      xHi = Math.max(xHi, p.x);
      yLo = Math.min(yLo, p.y);
      yHi = Math.max(yHi, p.y);
    }
    const py = this.yAxis(ctx, width, yLo, yHi, fg, grid);
    const xSpan = xHi - xLo || Math.abs(xHi) || 1;
    const x0 = xHi === xLo ? xLo - xSpan / 2 : xLo;
    const x1 = xHi === xLo ? xHi + xSpan / 2 : xHi;
    const px = (v: number) => M.left + 6 + ((v - x0) / (x1 - x0)) * (width - M.left - M.right - 12);
    ctx.textAlign = 'center';
    ctx.fillStyle = fg;
    for (const t of niceTicks(x0, x1, Math.max(2, Math.floor(width / 90)))) ctx.fillText(formatValue(t), px(t), HEIGHT - M.bottom + 15);
    ctx.fillText(`${this.spec.x}${missing ? ` (${missing} runs without values)` : ''}`, (M.left + width) / 2, HEIGHT - 3);
    for (const p of points) {
      const x = px(p.x);
      const y = py(p.y);
      ctx.fillStyle = p.colour;
      ctx.beginPath();
      ctx.arc(x, y, 4, 0, Math.PI * 2);
      ctx.fill();
      this.hits.push({ x, y, text: `${p.label}: ${this.spec.x} = ${formatValue(p.x)}, ${this.spec.y} = ${formatValue(p.y)}` });
    }
  }
}

class BarPanel extends CanvasPanel {
  constructor(spec: PanelSpec) {
    super(spec, `bar chart of ${spec.y} per run`);
  }

  draw(runs: readonly PanelRun[]): void {
    const c = this.context();
    if (!c) return;
    const { ctx, width, fg, grid } = c;
    const data = bars(runs, this.spec.y ?? '');
    this.element.dataset['bars'] = String(data.length);
    if (data.length === 0) return this.message(ctx, width, fg, `No runs with a number at ${this.spec.y}`);
    const lo = Math.min(0, ...data.map((b) => b.value));
    const hi = Math.max(0, ...data.map((b) => b.value));
    const py = this.yAxis(ctx, width, lo, hi, fg, grid);
    const slot = (width - M.left - M.right) / data.length;
    const barWidth = Math.max(1, Math.min(48, slot * 0.7));
    ctx.textAlign = 'center';
    data.forEach((b, i) => {
      const x = M.left + slot * i + (slot - barWidth) / 2;
      const top = py(Math.max(0, b.value));
      const bottom = py(Math.min(0, b.value));
      ctx.fillStyle = b.colour;
      ctx.fillRect(x, top, barWidth, Math.max(1, bottom - top));
      this.hits.push({ x: x + barWidth / 2, y: (top + bottom) / 2, text: `${b.label}: ${this.spec.y} = ${formatValue(b.value)}` });
      if (slot > 40) {
        ctx.fillStyle = fg;
        ctx.fillText(b.label.length > 10 ? b.label.slice(0, 9) + '…' : b.label, x + barWidth / 2, HEIGHT - M.bottom + 15);
      }
    });
  }
}

class ParallelPanel extends CanvasPanel {
  constructor(spec: PanelSpec) {
    super(spec, `parallel coordinates over ${(spec.keys ?? []).join(', ')}`);
  }

  draw(runs: readonly PanelRun[]): void {
    const c = this.context();
    if (!c) return;
    const { ctx, width, fg, grid } = c;
    const keys = this.spec.keys ?? [];
    if (keys.length < 2) return this.message(ctx, width, fg, 'Choose at least two keys');
    const axes = parallelAxes(runs, keys);
    const lines = parallelLines(runs, axes);
    const left = 40;
    const right = width - 40;
    const ax = (i: number) => left + ((right - left) * i) / (axes.length - 1);
    const ay = (p: number) => M.top + 14 + (1 - p) * (HEIGHT - M.top - M.bottom - 14);
    ctx.lineWidth = 1.5;
    for (const line of lines) {
      ctx.strokeStyle = line.colour;
      ctx.globalAlpha = 0.8;
      ctx.beginPath();
      let pen = false;
      line.positions.forEach((p, i) => {
        if (p === null) {
          pen = false;
          return;
        }
        if (pen) ctx.lineTo(ax(i), ay(p));
        else ctx.moveTo(ax(i), ay(p));
        pen = true;
        this.hits.push({ x: ax(i), y: ay(p), text: `${line.label}: ${axes[i]!.key}` });
      });
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    ctx.lineWidth = 1;
    axes.forEach((a, i) => {
      const x = Math.round(ax(i)) + 0.5;
      ctx.strokeStyle = fg;
      ctx.beginPath();
      ctx.moveTo(x, ay(1));
      ctx.lineTo(x, ay(0));
      ctx.stroke();
      ctx.fillStyle = fg;
      ctx.textAlign = i === 0 ? 'left' : i === axes.length - 1 ? 'right' : 'center';
      ctx.fillText(a.key.replace(/^config\.|^summary_metrics\./, ''), x, M.top + 4);
      const labels = a.kind === 'numeric' ? [[0, a.min], [1, a.max]] as const : a.categories.map((cat, j) => [a.categories.length === 1 ? 0.5 : j / (a.categories.length - 1), cat] as const);
      ctx.textAlign = 'left';
      for (const [p, v] of labels.slice(0, 12)) ctx.fillText(typeof v === 'number' ? formatValue(v) : v, x + 3, ay(p) + 4);
      ctx.strokeStyle = grid;
    });
  }
}

/** Config and summary of the shown runs side by side, differing rows highlighted (and first with the toggle). */
class ComparerPanel implements RunPanel {
  readonly element = h('div.comparer');
  private differencesFirst = true;
  private runs: readonly PanelRun[] = [];

  draw(runs: readonly PanelRun[]): void {
    this.runs = runs;
    const { config, summary } = compareRuns(runs.map((r) => r.run), this.differencesFirst);
    const toggle = h('input.comparer-diff-first', { type: 'checkbox', checked: this.differencesFirst });
    toggle.addEventListener('change', () => {
      this.differencesFirst = toggle.checked;
      this.draw(this.runs);
    });
    const head = h('tr', null, h('th', { scope: 'col' }, 'Key'), ...runs.map((r) => h('th', { scope: 'col' }, h('span.swatch', { style: { background: r.colour } }), r.label)));
    const body = (title: string, rows: typeof config) => [
      h('tr.comparer-section', null, h('th', { colSpan: runs.length + 1, scope: 'rowgroup' }, title)),
      ...rows.map((row) => h(row.differs ? 'tr.differs' : 'tr', { 'data-key': row.key }, h('th', { scope: 'row' }, row.key), ...row.values.map((v) => h('td', null, v)))),
    ];
    const diffCount = config.filter((r) => r.differs).length + summary.filter((r) => r.differs).length;
    this.element.replaceChildren(
      h('div.comparer-bar', null, h('label', null, toggle, ' differences first'), h('span.muted', null, ` ${diffCount} differing keys`)),
      runs.length === 0 ? h('p.empty', null, 'No runs shown.') : h('div.comparer-scroll', null, h('table.kv.comparer-table', { 'aria-label': 'Run comparer' }, h('thead', null, head), h('tbody', null, ...body('Config', config), ...body('Summary', summary)))),
    );
  }
}

export function createRunPanel(spec: PanelSpec): RunPanel {
  switch (spec.type) {
    case 'scatter':
      return new ScatterPanel(spec);
    case 'bar':
      return new BarPanel(spec);
    case 'parallel':
      return new ParallelPanel(spec);
    default:
      return new ComparerPanel();
  }
}
