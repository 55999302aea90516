// Chart sections and panels for a set of runs. Buckets come from M4 requests planned per panel
// (lib/chartdata.ts): on-screen panels first, a few requests in flight, each panel drawn as soon as
// its data is in; only on-screen panels are drawn on the critical path (the rest when idle or
// scrolled into view). A zoom redraws at once from the buckets already loaded (a coarser view of
// the new range), then the re-bucketed answer, debounced, replaces it; a newer update aborts the
// requests of the older one.

import { aggregateRuns, type AggregateBand, type AggregateLine } from '../lib/aggregate';
import { api, type M4Series, type Run } from '../lib/api';
import { M4Cache, planRequests, type PanelNeed, type SeriesRange } from '../lib/chartdata';
import { isLinePanel, type PanelSpec, type SectionSpec } from '../lib/layout';
import type { SmoothingSettings } from '../lib/smoothing';
import { M4Columns } from '../lib/m4';
import { mark } from '../lib/perf';
import { h } from './dom';
import { LinePlot, PLOT_MARGIN_X, type PlotSeries } from './lineplot';
import { createRunPanel, type RunPanel } from './runpanels';

export interface ChartRun {
  id: string;
  run: Run;
  label: string;
  colour: string;
}

export interface ChartGroup {
  key: string;
  label: string;
  colour: string;
  runIds: string[];
}

export interface ChartsInput {
  entity: string;
  project: string;
  runs: ChartRun[];
  /** When set, each group is drawn as one aggregated line. */
  groups: ChartGroup[] | null;
  aggregate: { line: AggregateLine; band: AggregateBand };
  sections: SectionSpec[];
  xAxis: string;
  zoom: [number, number] | null;
  smoothing: SmoothingSettings;
  logY: boolean;
}

export interface ChartsCallbacks {
  onZoom(range: [number, number] | null): void;
  onEditPanel?(section: string, panel: PanelSpec): void;
  onRemovePanel?(section: string, panel: PanelSpec): void;
  onToggleSection?(section: string): void;
}

const X_LABELS: Record<string, string> = { _step: 'Step', _runtime: 'Relative time (s)', _timestamp: 'Wall time (s)' };

/** Drawing time per task when off-screen panels catch up (input waits at most about this long). */
const OFF_SCREEN_SLICE_MS = 50;

/** A re-bucketed answer is asked for this long after the last zoom gesture (a burst asks once). */
const ZOOM_DEBOUNCE_MS = 120;

/**
 * Panels per M4 request, requests in flight, on-screen panels in a request of their own (localStorage
 * `weightless.m4PanelsPerRequest` / `weightless.m4Concurrency` / `weightless.m4OnScreenFirst` = 2 for
 * no, override them, for measurements).
 */
function tuning(name: string, fallback: number): number {
  const value = Number(globalThis.localStorage?.getItem(`weightless.${name}`));
  return Number.isFinite(value) && value >= 1 ? Math.floor(value) : fallback;
}

interface LineView {
  panel: PanelSpec;
  plot: LinePlot;
  figure: HTMLElement;
  legend: HTMLElement;
  visible: boolean;
  /** What the canvas shows: nothing yet, a coarse preview, or the exact answer for `needKey`. */
  drawn: 'none' | 'preview' | 'exact';
  /** The need the exact drawing is for; a new need makes the drawing out of date. */
  needKey: string;
  /** Exact data is drawn but with old settings or size (off-screen panels catch up when idle or shown). */
  stale: boolean;
}

/** Chart timings (ms) for the performance figures. */
export interface ChartTimings {
  /** From navigation start to the first panel drawn with its exact buckets. */
  firstPanelMs: number;
  /** From navigation start to every panel's buckets loaded and drawn (the last update's). */
  allPanelsMs: number;
  /** From the last zoom gesture to the first redraw (the preview from loaded buckets): its draw calls. */
  zoomFirstDrawMs: number;
  /** The same to the end of the frame that shows it (rasterised and painted). */
  zoomFirstFrameMs: number;
  /** From the last zoom gesture to every panel redrawn with the re-bucketed answer. */
  zoomRefinedMs: number;
  /** M4 requests the last update sent. */
  requests: number;
  /** Panels drawn off screen (after the on-screen ones) and the time those draws took, in total. */
  offScreenPanels: number;
  offScreenDrawMs: number;
}

export class ChartsArea {
  readonly element = h('div.charts');
  private lines = new Map<string, LineView>();
  private runPanels = new Map<string, RunPanel>();
  private readonly cache = new M4Cache();
  private abort: AbortController | null = null;
  private input: ChartsInput | null = null;
  private structureKey = '';
  private generation = 0;
  private buckets = 600;
  /** Zoom of panels with their own x axis (the workspace zoom is in the workspace axis's units). */
  private readonly localZoom = new Map<string, [number, number]>();
  private zoomAt: number | null = null;
  /** The first redraw after the zoom gesture at zoomAt happened. */
  private zoomPreviewed = false;
  private debounce = 0;
  private error: HTMLElement | null = null;
  /** Plots are redrawn when the area's width changes; a height change (panels drawn for the first time, sections toggled) changes no plot. */
  private observedWidth = -1;
  private readonly resizeObserver = new ResizeObserver((entries) => {
    const width = entries[entries.length - 1]!.contentRect.width;
    if (width === this.observedWidth) return;
    this.observedWidth = width;
    this.redrawAll();
  });
  private readonly intersection = new IntersectionObserver((entries) => this.onIntersect(entries), { rootMargin: '200px' });
  /** Milliseconds the last redraw of the on-screen panels took (no network). */
  lastDrawMs = 0;
  readonly timings: ChartTimings = { firstPanelMs: 0, allPanelsMs: 0, zoomFirstDrawMs: 0, zoomFirstFrameMs: 0, zoomRefinedMs: 0, requests: 0, offScreenPanels: 0, offScreenDrawMs: 0 };
  /** Resolves when the latest update has drawn every panel (true) or was superseded (false). */
  lastRender: Promise<boolean> = Promise.resolve(true);

  constructor(private readonly cb: ChartsCallbacks) {
    this.resizeObserver.observe(this.element);
  }

  update(input: ChartsInput): Promise<boolean> {
    mark('charts:update');
    const previous = this.input;
    this.input = input;
    const generation = ++this.generation;
    this.abort?.abort();
    this.abort = null;
    clearTimeout(this.debounce);
    this.error?.remove();
    this.buildPanels(input);
    const width = Math.max(100, (this.element.querySelector('.plot')?.clientWidth || 600) - PLOT_MARGIN_X);
    // About one bucket per device pixel of the plot area (more cannot be seen; every extreme still lands
    // on a pixel), in steps of 50 so a small width change keeps the loaded buckets.
    this.buckets = Math.max(100, Math.min(2000, Math.ceil((width * (window.devicePixelRatio || 1)) / 50) * 50));
    const zoomChanged = previous !== null && JSON.stringify(previous.zoom) !== JSON.stringify(input.zoom);
    if (zoomChanged && this.zoomAt === null) {
      // A zoom from the URL (back/forward, a link) rather than a gesture on a panel.
      this.zoomAt = performance.now();
      this.zoomPreviewed = false;
    }
    for (const view of this.lines.values()) {
      view.visible = onScreen(view.figure);
      const key = JSON.stringify(this.needOf(view.panel));
      if (key !== view.needKey) {
        view.needKey = key;
        if (view.drawn === 'exact') view.drawn = 'preview';
      }
    }
    this.drawRunPanels();
    // (A zoom gesture has already redrawn from the loaded buckets in its handler.)
    if (!(zoomChanged && this.zoomPreviewed)) this.drawOnScreen();
    this.lastRender = this.load(generation, zoomChanged ? ZOOM_DEBOUNCE_MS : 0);
    return this.lastRender;
  }

  /** Re-draw with new display settings (smoothing, log scale) without a request. */
  restyle(input: ChartsInput): void {
    this.input = input;
    this.drawRunPanels();
    this.redrawAll();
    void this.drawOffScreen(this.generation);
  }

  /** Zoom of a panel: the workspace's (URL) for panels on its x axis, the panel's own otherwise. */
  private onPanelZoom(panel: PanelSpec, range: [number, number] | null): void {
    this.zoomAt = performance.now();
    this.zoomPreviewed = false;
    if (!this.ownAxis(panel) && this.input) {
      // Redraw the on-screen panels from the buckets already loaded right in the gesture's
      // handler, before the URL and table update; the re-bucketed answer follows (update()).
      const current = this.input;
      this.input = { ...current, zoom: range };
      this.drawOnScreen();
      this.input = current;
      this.cb.onZoom(range);
      return;
    }
    if (range) this.localZoom.set(panel.id, range);
    else this.localZoom.delete(panel.id);
    if (this.input) void this.update(this.input);
  }

  private ownAxis(panel: PanelSpec): boolean {
    return !!panel.xAxis && panel.xAxis !== this.input?.xAxis;
  }

  private rangeOf(panel: PanelSpec): SeriesRange {
    const input = this.input!;
    if (this.ownAxis(panel)) return { xAxis: panel.xAxis!, zoom: this.localZoom.get(panel.id) ?? null, buckets: this.buckets };
    return { xAxis: input.xAxis, zoom: input.zoom, buckets: this.buckets };
  }

  private runIds(): string[] {
    const input = this.input!;
    return input.groups ? [...new Set(input.groups.flatMap((g) => g.runIds))] : input.runs.map((r) => r.id);
  }

  private needOf(panel: PanelSpec): PanelNeed {
    return { id: panel.id, range: this.rangeOf(panel), metrics: panel.metrics, runs: this.runIds() };
  }

  private buildPanels(input: ChartsInput): void {
    const key = JSON.stringify([input.sections, !!this.cb.onEditPanel]);
    if (key === this.structureKey) return;
    this.structureKey = key;
    this.intersection.disconnect();
    this.lines.clear();
    this.runPanels.clear();
    const sections = input.sections.map((section) => {
      const panels = section.collapsed
        ? []
        : section.panels.map((panel) => {
            let body: HTMLElement;
            let line: { plot: LinePlot; legend: HTMLElement } | null = null;
            if (isLinePanel(panel)) {
              line = { plot: new LinePlot((range) => this.onPanelZoom(panel, range)), legend: h('div.legend', { 'data-legend': panel.id }) };
              body = line.plot.element;
            } else {
              const runPanel = createRunPanel(panel);
              this.runPanels.set(panel.id, runPanel);
              body = runPanel.element;
            }
            const figure = h(
              `figure.panel.panel-${panel.type ?? 'line'}`,
              { 'data-panel': panel.id, 'data-panel-type': panel.type ?? 'line', 'data-metrics': panel.metrics.join(','), 'data-x-axis': panel.xAxis ?? '' },
              h(
                'figcaption.panel-head',
                null,
                h('span.panel-title', null, panel.title),
                panel.xAxis ? h('span.panel-axis', { title: 'This panel’s x axis' }, `x: ${X_LABELS[panel.xAxis] ?? panel.xAxis}`) : null,
                this.cb.onEditPanel ? h('button.icon', { title: 'Edit panel', 'aria-label': `Edit ${panel.title}`, on: { click: () => this.cb.onEditPanel!(section.name, panel) } }, '✎') : null,
                this.cb.onRemovePanel ? h('button.icon', { title: 'Remove panel', 'aria-label': `Remove ${panel.title}`, on: { click: () => this.cb.onRemovePanel!(section.name, panel) } }, '✕') : null,
              ),
              body,
              line?.legend ?? null,
            );
            if (line) {
              this.lines.set(panel.id, { panel, plot: line.plot, figure, legend: line.legend, visible: false, drawn: 'none', needKey: '', stale: false });
              this.intersection.observe(figure);
            }
            return figure;
          });
      return h(
        'section.chart-section',
        { 'data-section': section.name },
        h(
          'h3.section-head',
          null,
          h('button.section-toggle', { 'aria-expanded': String(!section.collapsed), on: { click: () => this.cb.onToggleSection?.(section.name) } }, section.collapsed ? '▸ ' : '▾ ', section.name, h('span.badge', null, String(section.panels.length))),
        ),
        h('div.panel-grid', null, ...panels),
      );
    });
    this.element.replaceChildren(...(sections.length ? sections : [h('p.empty', null, 'No metrics logged by the runs shown.')]));
  }

  /**
   * Requests what the panels miss (after <paramref name="delay"/> ms, for a zoom), on-screen panels
   * first, a few requests at a time; each panel is drawn as soon as its data is complete.
   */
  private async load(generation: number, delay: number): Promise<boolean> {
    if (delay > 0) {
      await new Promise<void>((resolve) => (this.debounce = window.setTimeout(resolve, delay)));
      if (generation !== this.generation) return false;
    }
    const abort = new AbortController();
    this.abort = abort;
    const input = this.input!;
    const views = [...this.lines.values()];
    const ordered = [...views.filter((v) => v.visible), ...views.filter((v) => !v.visible)];
    // One request for the on-screen panels, then one for the rest (the knobs split them further or merge
    // them). Also for a zoom: at 100 runs × 100,000 steps one request for all panels re-bucketed no faster
    // than the two (the server works on both at once).
    const onScreenFirst = tuning('m4OnScreenFirst', 1) === 1;
    const plan = planRequests(
      ordered.map((v) => ({ ...this.needOf(v.panel), batch: onScreenFirst && v.visible ? 0 : 1 })),
      this.cache,
      tuning('m4PanelsPerRequest', Infinity),
    );
    this.timings.requests = plan.length;
    let next = 0;
    let failure: Error | null = null;
    const worker = async () => {
      while (next < plan.length && !abort.signal.aborted) {
        const index = next++;
        const planned = plan[index]!;
        try {
          mark(`m4:${index}:sent`);
          const answer = await api.m4(input.entity, input.project, planned.request, abort.signal);
          mark(`m4:${index}:decoded`);
          if (generation !== this.generation) return;
          this.cache.put(planned.range, planned.request, answer);
          this.drawCompleted();
          mark(`m4:${index}:drawn`);
        } catch (e) {
          if (abort.signal.aborted) return;
          failure ??= e as Error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(plan.length, tuning('m4Concurrency', 4)) }, worker));
    if (generation !== this.generation) return false;
    if (failure) {
      this.error = h('p.error', { role: 'alert' }, `Could not load chart data: ${(failure as Error).message}`);
      this.element.prepend(this.error);
    }
    this.drawCompleted();
    if (!(await this.drawOffScreen(generation))) return false;
    this.timings.allPanelsMs = performance.now();
    mark('panels:all');
    mark(`panels:off-screen ${this.timings.offScreenPanels} drawn in ${Math.round(this.timings.offScreenDrawMs)} ms of drawing`);
    if (this.zoomAt !== null) {
      this.timings.zoomRefinedMs = performance.now() - this.zoomAt;
      this.zoomAt = null;
    }
    return true;
  }

  /** Draws the on-screen panels whose data is now complete; off-screen ones wait (stale). */
  private drawCompleted(): void {
    for (const view of this.lines.values()) {
      if (view.drawn === 'exact' || !this.cache.complete(this.needOf(view.panel))) continue;
      if (view.visible) this.draw(view, 'exact');
      else view.stale = true;
    }
  }

  /**
   * Off-screen panels with data drawn after the on-screen ones are painted, so a scroll finds them drawn:
   * in slices of about <see cref="OFF_SCREEN_SLICE_MS"/> of drawing per task, so input is handled between
   * slices (one task per panel, or waiting for idle periods, would lay out and paint the page once per panel).
   */
  private async drawOffScreen(generation: number): Promise<boolean> {
    let sliceStart = -Infinity;
    for (const view of this.lines.values()) {
      if (generation !== this.generation) return false;
      if (view.visible || !(view.stale || view.drawn !== 'exact') || !this.cache.complete(this.needOf(view.panel))) continue;
      if (performance.now() - sliceStart > OFF_SCREEN_SLICE_MS) {
        await yieldToBrowser();
        if (generation !== this.generation) return false;
        sliceStart = performance.now();
      }
      if (!view.visible) {
        const t0 = performance.now();
        this.draw(view, 'exact');
        this.timings.offScreenDrawMs += performance.now() - t0;
        this.timings.offScreenPanels++;
      }
    }
    return generation === this.generation;
  }

  private onIntersect(entries: IntersectionObserverEntry[]): void {
    for (const entry of entries) {
      const view = this.lines.get((entry.target as HTMLElement).dataset['panel'] ?? '');
      if (!view) continue;
      view.visible = entry.isIntersecting;
      if (!view.visible || !this.input) continue;
      if (this.cache.complete(this.needOf(view.panel))) {
        if (view.stale || view.drawn !== 'exact') this.draw(view, 'exact');
      } else if (view.drawn === 'none') {
        this.draw(view, 'preview');
      }
    }
  }

  /** Draws the on-screen panels: exactly when their data is loaded, else a preview from other loaded ranges. */
  private drawOnScreen(): void {
    const t0 = performance.now();
    let drawn = 0;
    for (const view of this.lines.values()) {
      if (!view.visible) continue;
      if (this.cache.complete(this.needOf(view.panel))) {
        this.draw(view, 'exact');
        drawn++;
      } else if (this.draw(view, 'preview')) {
        drawn++;
      }
    }
    this.lastDrawMs = performance.now() - t0;
    if (this.zoomAt !== null && drawn > 0 && !this.zoomPreviewed) {
      this.zoomPreviewed = true;
      const at = this.zoomAt;
      this.timings.zoomFirstDrawMs = performance.now() - at;
      // Canvas draw calls are recorded and rasterised when the frame is produced: the on-screen figure
      // is taken after the next frame (a task after its animation frame callbacks and paint).
      requestAnimationFrame(() =>
        setTimeout(() => {
          this.timings.zoomFirstFrameMs = performance.now() - at;
          document.body.dataset['chartsPreview'] = String(Date.now());
        }, 0),
      );
    }
  }

  /** Redraws the on-screen panels as they are (settings or size changed); the rest go stale. */
  private redrawAll(): void {
    if (!this.input) return;
    const t0 = performance.now();
    for (const view of this.lines.values()) {
      if (view.drawn === 'none') continue;
      if (view.visible) this.draw(view, view.drawn);
      else view.stale = true;
    }
    this.lastDrawMs = performance.now() - t0;
  }

  private drawRunPanels(): void {
    const panelRuns = this.input!.runs.map((r) => ({ run: r.run, label: r.label, colour: r.colour }));
    for (const runPanel of this.runPanels.values()) runPanel.draw(panelRuns);
  }

  /** Draws a panel from exact buckets or a preview (loaded buckets of another range); false when there was nothing to draw. */
  private draw(view: LineView, mode: 'exact' | 'preview'): boolean {
    const input = this.input!;
    const range = this.rangeOf(view.panel);
    const lookup = (metric: string, run: string): M4Series | undefined => {
      const exact = this.cache.get(range, metric, run);
      if (exact !== undefined) return exact ?? undefined;
      return mode === 'preview' ? this.cache.preview(range, metric, run) : undefined;
    };
    const series = this.seriesFor(view.panel, input, lookup);
    if (mode === 'preview' && series.length === 0) return false;
    view.plot.setData(series, { smoothing: input.smoothing, logY: view.panel.logY ?? input.logY, xLabel: X_LABELS[range.xAxis] ?? range.xAxis, xRange: range.zoom });
    view.drawn = mode;
    view.stale = false;
    this.queueLegend(view, series, mode);
    if (mode === 'exact' && this.timings.firstPanelMs === 0) {
      this.timings.firstPanelMs = performance.now();
      mark('panels:first');
    }
    return true;
  }

  /** Legends (and data-drawn) to update once the current batch of canvases is drawn. */
  private readonly legendQueue = new Map<LineView, { series: PlotSeries[]; mode: 'exact' | 'preview' }>();

  /**
   * Defers a panel's DOM changes to the end of the batch of draws: a canvas draw reads its width and
   * theme colours, so DOM changes between draws would lay out the page once per panel.
   */
  private queueLegend(view: LineView, series: PlotSeries[], mode: 'exact' | 'preview'): void {
    if (this.legendQueue.size === 0) queueMicrotask(() => this.flushLegends());
    this.legendQueue.set(view, { series, mode });
  }

  private flushLegends(): void {
    for (const [view, { series, mode }] of this.legendQueue) {
      view.legend.replaceChildren(...series.map((s) => h('span.legend-item', null, h('span.swatch', { style: { background: s.colour } }), s.label)));
      view.figure.dataset['drawn'] = mode;
    }
    this.legendQueue.clear();
  }

  private seriesFor(panel: PanelSpec, input: ChartsInput, lookup: (metric: string, run: string) => M4Series | undefined): PlotSeries[] {
    const out: PlotSeries[] = [];
    const multi = panel.metrics.length > 1;
    for (const metric of panel.metrics) {
      if (input.groups) {
        for (const g of input.groups) {
          const member = g.runIds.map((id) => lookup(metric, id)?.buckets).filter((b): b is NonNullable<typeof b> => b !== undefined);
          if (!member.length) continue;
          const agg = aggregateRuns(member, input.aggregate.line, input.aggregate.band);
          out.push({ id: `${g.key}/${metric}`, label: (multi ? metric + ' · ' : '') + `${g.label} (${member.length})`, colour: g.colour, data: M4Columns.fromBuckets(agg.buckets), band: agg.band });
        }
      } else {
        for (const run of input.runs) {
          const s = lookup(metric, run.id);
          if (!s) continue;
          out.push({ id: `${run.id}/${metric}`, label: (multi ? metric + ' · ' : '') + run.label, colour: run.colour, data: s.columns });
        }
      }
    }
    return out;
  }
}

/** Resolves in a new task (after pending input and rendering work), without a timer's clamping. */
function yieldToBrowser(): Promise<void> {
  return new Promise<void>((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });
}

/** Whether an element is within 200 px of the viewport (before the IntersectionObserver has reported). */
function onScreen(element: HTMLElement): boolean {
  if (!element.isConnected) return true;
  const rect = element.getBoundingClientRect();
  return rect.bottom > -200 && rect.top < window.innerHeight + 200;
}
