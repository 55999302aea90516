// Chart sections and panels for a set of runs: one M4 request per batch of metrics (all panels
// share the x range, so a zoom re-buckets every panel at the new range in one round trip).

import { aggregateRuns, type AggregateBand, type AggregateLine } from '../lib/aggregate';
import { api, type M4Series, type Run } from '../lib/api';
import { isLinePanel, type PanelSpec, type SectionSpec } from '../lib/layout';
import type { SmoothingSettings } from '../lib/smoothing';
import { h } from './dom';
import { LinePlot, type PlotSeries } from './lineplot';
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
const METRICS_PER_REQUEST = 50;
const RUNS_PER_REQUEST = 100;

export class ChartsArea {
  readonly element = h('div.charts');
  private plots = new Map<string, LinePlot>();
  private runPanels = new Map<string, RunPanel>();
  private abort: AbortController | null = null;
  private data = new Map<string, M4Series[]>();
  /** Buckets are on their way: line panels stay blank rather than saying "No data". */
  private loading = false;
  private input: ChartsInput | null = null;
  private resizeObserver = new ResizeObserver(() => this.redrawAll());
  /** Milliseconds the last full redraw of every panel took (no network). */
  lastDrawMs = 0;
  /** Resolves when the latest update has drawn (browser tests and timings wait on it). */
  lastRender: Promise<void> = Promise.resolve();

  constructor(private readonly cb: ChartsCallbacks) {
    this.resizeObserver.observe(this.element);
  }

  update(input: ChartsInput): Promise<void> {
    this.input = input;
    this.buildPanels(input);
    this.lastRender = this.fetchAndDraw(input);
    return this.lastRender;
  }

  /** Re-draw with new display settings (smoothing, log scale) without a request. */
  restyle(input: ChartsInput): void {
    this.input = input;
    this.redrawAll();
  }

  private buildPanels(input: ChartsInput): void {
    this.plots.clear();
    this.runPanels.clear();
    const sections = input.sections.map((section) => {
      const panels = section.collapsed
        ? []
        : section.panels.map((panel) => {
            let body: HTMLElement;
            if (isLinePanel(panel)) {
              const plot = new LinePlot((range) => this.cb.onZoom(range));
              this.plots.set(panel.id, plot);
              body = plot.element;
            } else {
              const runPanel = createRunPanel(panel);
              this.runPanels.set(panel.id, runPanel);
              body = runPanel.element;
            }
            return h(
              `figure.panel.panel-${panel.type ?? 'line'}`,
              { 'data-panel': panel.id, 'data-panel-type': panel.type ?? 'line', 'data-metrics': panel.metrics.join(',') },
              h(
                'figcaption.panel-head',
                null,
                h('span.panel-title', null, panel.title),
                this.cb.onEditPanel ? h('button.icon', { title: 'Edit panel', 'aria-label': `Edit ${panel.title}`, on: { click: () => this.cb.onEditPanel!(section.name, panel) } }, '✎') : null,
                this.cb.onRemovePanel ? h('button.icon', { title: 'Remove panel', 'aria-label': `Remove ${panel.title}`, on: { click: () => this.cb.onRemovePanel!(section.name, panel) } }, '✕') : null,
              ),
              body,
              isLinePanel(panel) ? h('div.legend', { 'data-legend': panel.id }) : null,
            );
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

  private async fetchAndDraw(input: ChartsInput): Promise<void> {
    this.abort?.abort();
    const abort = new AbortController();
    this.abort = abort;
    const metrics = [...new Set(input.sections.filter((s) => !s.collapsed).flatMap((s) => s.panels.filter(isLinePanel).flatMap((p) => p.metrics)))];
    const runIds = input.groups ? [...new Set(input.groups.flatMap((g) => g.runIds))] : input.runs.map((r) => r.id);
    this.data.clear();
    this.loading = metrics.length > 0 && runIds.length > 0;
    if (metrics.length === 0 || runIds.length === 0) {
      this.redrawAll();
      return;
    }
    const width = this.element.querySelector('.plot')?.clientWidth ?? 600;
    const buckets = Math.max(50, Math.min(1000, Math.round(width)));
    const calls: Promise<M4Series[]>[] = [];
    for (let m = 0; m < metrics.length; m += METRICS_PER_REQUEST) {
      for (let r = 0; r < runIds.length; r += RUNS_PER_REQUEST) {
        const req: Parameters<typeof api.m4>[2] = { runs: runIds.slice(r, r + RUNS_PER_REQUEST), metrics: metrics.slice(m, m + METRICS_PER_REQUEST), xAxis: input.xAxis, buckets };
        if (input.zoom) {
          req.min = input.zoom[0];
          req.max = input.zoom[1];
        }
        calls.push(api.m4(input.entity, input.project, req, abort.signal));
      }
    }
    let results: M4Series[][];
    try {
      results = await Promise.all(calls);
    } catch (e) {
      if (abort.signal.aborted) return;
      this.loading = false;
      this.element.prepend(h('p.error', { role: 'alert' }, `Could not load chart data: ${(e as Error).message}`));
      return;
    }
    if (abort.signal.aborted) return;
    this.loading = false;
    for (const series of results.flat()) {
      let list = this.data.get(series.metric);
      if (!list) this.data.set(series.metric, (list = []));
      list.push(series);
    }
    this.redrawAll();
  }

  private redrawAll(): void {
    const input = this.input;
    if (!input) return;
    const t0 = performance.now();
    const panelRuns = input.runs.map((r) => ({ run: r.run, label: r.label, colour: r.colour }));
    for (const section of input.sections) {
      for (const panel of section.panels) {
        const runPanel = this.runPanels.get(panel.id);
        if (runPanel) {
          runPanel.draw(panelRuns);
          continue;
        }
        const plot = this.plots.get(panel.id);
        if (!plot || this.loading) continue;
        const series = this.seriesFor(panel, input);
        plot.setData(series, { smoothing: input.smoothing, logY: panel.logY ?? input.logY, xLabel: X_LABELS[input.xAxis] ?? input.xAxis, xRange: input.zoom });
        const legend = this.element.querySelector(`[data-legend="${CSS.escape(panel.id)}"]`);
        legend?.replaceChildren(...series.map((s) => h('span.legend-item', null, h('span.swatch', { style: { background: s.colour } }), s.label)));
      }
    }
    this.lastDrawMs = performance.now() - t0;
  }

  private seriesFor(panel: PanelSpec, input: ChartsInput): PlotSeries[] {
    const out: PlotSeries[] = [];
    const multi = panel.metrics.length > 1;
    for (const metric of panel.metrics) {
      const byRun = new Map((this.data.get(metric) ?? []).map((s) => [s.run, s]));
      if (input.groups) {
        for (const g of input.groups) {
          const member = g.runIds.map((id) => byRun.get(id)?.buckets).filter((b): b is NonNullable<typeof b> => b !== undefined);
          if (!member.length) continue;
          const agg = aggregateRuns(member, input.aggregate.line, input.aggregate.band);
          out.push({ id: `${g.key}/${metric}`, label: (multi ? metric + ' · ' : '') + `${g.label} (${member.length})`, colour: g.colour, buckets: agg.buckets, band: agg.band });
        }
      } else {
        for (const run of input.runs) {
          const s = byRun.get(run.id);
          if (!s) continue;
          out.push({ id: `${run.id}/${metric}`, label: (multi ? metric + ' · ' : '') + run.label, colour: run.colour, buckets: s.buckets });
        }
      }
    }
    return out;
  }
}
