// System metrics (the events stream: CPU, GPU, memory, ...) of one or more runs: a line panel per
// key with a series per run, over relative time. Used by the run page and the workspace's System section.

import { api, type Run, type SystemMetrics } from '../lib/api';
import { bucketize, M4Columns } from '../lib/m4';
import { h } from './dom';
import { LinePlot, type PlotSeries } from './lineplot';

export interface SystemRun {
  run: Run;
  label: string;
  colour: string;
}

export async function systemMetricsGrid(runs: readonly SystemRun[]): Promise<HTMLElement> {
  const loaded = await Promise.all(runs.map(async (r) => ({ ...r, data: await api.systemMetrics(r.run.entity, r.run.project, r.run.id).catch((): SystemMetrics => ({ keys: [], rows: [] })) })));
  const keys = [...new Set(loaded.flatMap((r) => r.data.keys.filter((k) => !k.startsWith('_'))))].sort();
  if (!keys.length) return h('p.empty', null, 'No system metrics recorded.');
  const grid = h('div.panel-grid');
  const plots: [LinePlot, string][] = [];
  for (const key of keys) {
    const plot = new LinePlot(() => undefined);
    plots.push([plot, key]);
    grid.append(h('figure.panel', { 'data-panel': key }, h('figcaption.panel-head', null, h('span.panel-title', null, key)), plot.element));
  }
  queueMicrotask(() => {
    for (const [plot, key] of plots) {
      const series: PlotSeries[] = [];
      for (const r of loaded) {
        const rows = r.data.rows;
        if (!rows.length || !r.data.keys.includes(key)) continue;
        const xKey = r.data.keys.includes('_runtime') ? '_runtime' : '_timestamp';
        const xs = Float64Array.from(rows, (row, i) => (typeof row[xKey] === 'number' ? (row[xKey] as number) : i));
        const ys = Float64Array.from(rows, (row) => (typeof row[key] === 'number' ? (row[key] as number) : NaN));
        series.push({ id: `${r.run.id}/${key}`, label: r.label, colour: r.colour, data: M4Columns.fromBuckets(bucketize(xs, ys, Math.min(1000, xs.length), xs[0] ?? 0, xs[xs.length - 1] ?? 1)) });
      }
      plot.setData(series, { smoothing: { kind: 'none', param: 0 }, logY: false, xLabel: 'Relative time (s)', xRange: null });
    }
  });
  return grid;
}
