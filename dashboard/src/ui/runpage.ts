// A run's page: overview (state, config, summary, metadata, editable tags and notes), its charts,
// system metrics, console output (paged, ANSI colours, stderr marked) and files.

import { parseAnsi } from '../lib/ansi';
import { api, type Run } from '../lib/api';
import { automaticSections } from '../lib/layout';
import { formatDateTime, formatDuration, formatValue, runColour } from '../lib/runs';
import type { RunTab, ViewState } from '../lib/urlstate';
import { ChartsArea } from './charts';
import { h } from './dom';
import { systemMetricsGrid } from './systemcharts';

export interface RunPageHost {
  setState(patch: Partial<ViewState>, replace?: boolean): void;
  go(path: string): void;
}

const TABS: [RunTab, string][] = [
  ['overview', 'Overview'],
  ['charts', 'Charts'],
  ['system', 'System'],
  ['logs', 'Logs'],
  ['files', 'Files'],
  ['artifacts', 'Artifacts'],
];

export async function renderRunPage(entity: string, project: string, runId: string, tab: RunTab, state: ViewState, host: RunPageHost): Promise<HTMLElement> {
  const base = `/${encodeURIComponent(entity)}/${encodeURIComponent(project)}/runs/${encodeURIComponent(runId)}`;
  const content = h('div.run-content');
  const page = h(
    'div.run-page',
    null,
    h('h1.page-title', null, h('a', { href: `/${encodeURIComponent(entity)}`, 'data-nav': '' }, entity), ' / ', h('a', { href: `/${encodeURIComponent(entity)}/${encodeURIComponent(project)}`, 'data-nav': '' }, project), ' / ', h('span.run-name', null, runId)),
    h('nav.tabs', { role: 'tablist' }, ...TABS.map(([t, label]) => h('a.tab', { href: base + (t === 'overview' ? '' : '/' + t), 'data-nav': '', role: 'tab', 'aria-selected': String(t === tab) }, label))),
    content,
  );
  let run: Run;
  try {
    run = await api.run(entity, project, runId);
  } catch (e) {
    content.append(h('p.error', { role: 'alert' }, `Could not load the run: ${(e as Error).message}`));
    return page;
  }
  page.querySelector('.run-name')!.textContent = run.displayName ?? run.id;
  switch (tab) {
    case 'overview':
      content.append(overview(run));
      break;
    case 'charts':
      content.append(await runCharts(run, state, host));
      break;
    case 'system':
      content.append(await systemMetrics(run));
      break;
    case 'logs':
      content.append(logs(run));
      break;
    case 'files':
      content.append(await files(run));
      break;
    case 'artifacts':
      content.append(await artifacts(run));
      break;
  }
  return page;
}

function kvTable(obj: Record<string, unknown>, label: string): HTMLElement {
  const entries = Object.entries(obj).filter(([k]) => !k.startsWith('_wandb')).sort(([a], [b]) => (a < b ? -1 : 1));
  return h(
    'table.kv',
    { 'aria-label': label },
    h('tbody', null, ...entries.map(([k, v]) => h('tr', null, h('th', { scope: 'row' }, k), h('td', null, formatValue(v))))),
  );
}

function overview(run: Run): HTMLElement {
  const tags = h('input.tags-input', { value: run.tags.join(', '), 'aria-label': 'Tags (comma-separated)' });
  const notes = h('textarea.notes-input', { rows: 3, 'aria-label': 'Notes' });
  notes.value = run.notes ?? '';
  const saved = h('span.status', { role: 'status' });
  const save = async () => {
    saved.textContent = 'Saving…';
    try {
      const updated = await api.updateRun(run.entity, run.project, run.id, {
        tags: tags.value.split(',').map((t) => t.trim()).filter((t) => t !== ''),
        notes: notes.value,
      });
      run.tags = updated.tags;
      run.notes = updated.notes;
      saved.textContent = 'Saved';
    } catch (e) {
      saved.textContent = `Not saved: ${(e as Error).message}`;
    }
  };
  const meta: [string, unknown][] = [
    ['State', h(`span.state.state-${run.state}`, null, run.state)],
    ['Run id', run.id],
    ['Created', formatDateTime(run.createdAt)],
    ['Last heartbeat', formatDateTime(run.heartbeatAt)],
    ['Runtime', formatDuration(run.runtime)],
    ['User', run.user],
    ['Host', run.host],
    ['Group', run.group],
    ['Job type', run.jobType],
    ['Sweep', run.sweep],
    ['Git commit', run.commit],
    ['Last step', run.lastStep],
  ];
  return h(
    'div.overview',
    null,
    h('table.kv.meta', { 'aria-label': 'Run metadata' }, h('tbody', null, ...meta.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => h('tr', null, h('th', { scope: 'row' }, k), h('td', null, v instanceof Node ? v : formatValue(v)))))),
    h('div.edit', null, h('label', null, 'Tags ', tags), h('label', null, 'Notes ', notes), h('button.primary.save-run', { on: { click: save } }, 'Save'), saved),
    h('div.columns', null, h('div', null, h('h2', null, 'Config'), kvTable(run.config, 'Config')), h('div', null, h('h2', null, 'Summary'), kvTable(run.summary, 'Summary'))),
  );
}

async function runCharts(run: Run, state: ViewState, host: RunPageHost): Promise<HTMLElement> {
  const keys = await api.historyKeys(run.entity, run.project, run.id);
  const metrics = keys.filter((k) => (k.types['number'] ?? 0) > 0 && !k.key.startsWith('_')).map((k) => k.key);
  const charts = new ChartsArea({ onZoom: (range) => host.setState({ zoom: range }) });
  const wrap = h('div', null, charts.element);
  // Draw after insertion so panels know their width.
  queueMicrotask(() => {
    void charts.update({
      entity: run.entity,
      project: run.project,
      runs: [{ id: run.id, run, label: run.displayName ?? run.id, colour: runColour(run.id) }],
      groups: null,
      aggregate: { line: 'mean', band: 'none' },
      sections: automaticSections(metrics),
      xAxis: state.xAxis,
      zoom: state.zoom,
      smoothing: state.smoothing,
      logY: state.logY,
    });
  });
  return wrap;
}

async function systemMetrics(run: Run): Promise<HTMLElement> {
  return h('section.chart-section', null, h('h3.section-head', null, 'System'), await systemMetricsGrid([{ run, label: run.displayName ?? run.id, colour: runColour(run.id) }]));
}

function logs(run: Run): HTMLElement {
  const pre = h('div.console', { role: 'log', 'aria-label': 'Console output' });
  const more = h('button.more', null, 'Load more');
  const info = h('span.status');
  let cursor: string | undefined;
  const load = async () => {
    more.disabled = true;
    try {
      const page = await api.logs(run.entity, run.project, run.id, cursor);
      for (const line of page.lines) {
        const row = h(`div.line.${line.stream}`, { 'data-index': line.index }, h('span.ln', null, String(line.index + 1)), line.stream === 'stderr' ? h('span.stream', { title: 'stderr' }, 'ERR') : null);
        for (const seg of parseAnsi(line.text)) {
          const span = h('span', null, seg.text);
          if (seg.fg !== undefined) span.classList.add(`ansi-fg-${seg.fg}`);
          if (seg.bg !== undefined) span.classList.add(`ansi-bg-${seg.bg}`);
          if (seg.bold) span.classList.add('ansi-bold');
          row.append(span);
        }
        pre.append(row);
      }
      cursor = page.nextCursor;
      info.textContent = `${pre.childElementCount} of ${page.lineCount} lines`;
      more.style.display = cursor ? '' : 'none';
    } catch (e) {
      info.textContent = `Could not load logs: ${(e as Error).message}`;
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener('click', () => void load());
  void load();
  return h('div.logs', null, pre, h('div.toolbar', null, more, info));
}

async function files(run: Run): Promise<HTMLElement> {
  const page = await api.files(run.entity, run.project, run.id);
  if (!page.files.length) return h('p.empty', null, 'No files.');
  return h(
    'table.files',
    null,
    h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', null, 'Size'), h('th', null, 'Updated'))),
    h('tbody', null, ...page.files.map((f) => h('tr', null, h('td', null, h('a', { href: f.url, download: f.name, rel: 'noopener' }, f.name)), h('td', null, f.sizeBytes !== undefined ? formatBytes(f.sizeBytes) : ''), h('td', null, f.updatedAt ? formatDateTime(f.updatedAt) : '')))),
  );
}

/** Input artifacts (edges artifact → run, "used") and output artifacts (run → artifact, "logged"), from the run's lineage. */
async function artifacts(run: Run): Promise<HTMLElement> {
  const graph = await api.artifactLineage(run.entity, run.project, run.id);
  const runNode = graph.nodes.find((n) => n.kind === 'run' && n.label === `${run.entity}/${run.project}/${run.id}`)?.id;
  const label = new Map(graph.nodes.map((n) => [n.id, n.label]));
  const inputs = graph.edges.filter((e) => e.to === runNode && e.relation === 'used').map((e) => label.get(e.from) ?? e.from);
  const outputs = graph.edges.filter((e) => e.from === runNode && e.relation === 'logged').map((e) => label.get(e.to) ?? e.to);
  const list = (title: string, cls: string, names: string[]) =>
    h(`section.${cls}`, null, h('h2', null, `${title} (${names.length})`), names.length ? h('ul.artifact-list', null, ...[...new Set(names)].sort().map((n) => h('li', null, n))) : h('p.empty', null, 'None.'));
  return h('div.artifacts.columns', null, list('Input artifacts', 'artifact-inputs', inputs), list('Output artifacts', 'artifact-outputs', outputs));
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
