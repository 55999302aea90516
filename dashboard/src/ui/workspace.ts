// A project's workspace: the runs table (filter, sort, group, columns, eye toggles, colours, CSV)
// above the chart sections. All view state comes from the URL (see lib/urlstate.ts).

import type { AggregateBand, AggregateLine } from '../lib/aggregate';
import { api, type HistoryKey, type Run } from '../lib/api';
import { mark } from '../lib/perf';
import { isEmptyFilter, type FilterGroup } from '../lib/filter';
import { automaticSections, emptyLayout, LayoutStore, type ColumnSpec, type PanelSpec, type PanelType, type SectionSpec, type WorkspaceLayout } from '../lib/layout';
import { BASE_COLUMNS, discoverKeys, filterRuns, groupRuns, PALETTE, runColour, runsToCsv, sortRuns } from '../lib/runs';
import type { SmoothingKind } from '../lib/smoothing';
import type { ViewState } from '../lib/urlstate';
import { ChartsArea, type ChartGroup } from './charts';
import { append, download, h } from './dom';
import { filterBuilder } from './filterbuilder';
import { RunsTable, type TableColumn, type TableRow } from './runstable';
import { systemMetricsGrid } from './systemcharts';

export interface WorkspaceHost {
  /** Replace the view state (pushes a history entry unless replace). */
  setState(patch: Partial<ViewState>, replace?: boolean): void;
  openRun(runId: string): void;
}

const X_AXES: { key: string; label: string }[] = [
  { key: '_step', label: 'Step' },
  { key: '_runtime', label: 'Relative time' },
  { key: '_timestamp', label: 'Wall time' },
];

export class WorkspacePage {
  readonly element: HTMLElement;
  private runs: Run[] = [];
  private view: Run[] = [];
  private state!: ViewState;
  private layout: WorkspaceLayout = emptyLayout();
  private readonly layoutStore: LayoutStore;
  private readonly layoutStatus = h('span.layout-status', { role: 'status' });
  private readonly table: RunsTable;
  private readonly charts: ChartsArea;
  private readonly status = h('span.status', { role: 'status' });
  private readonly toolbar = h('div.toolbar');
  private readonly chartBar = h('div.toolbar.chart-bar');
  private readonly popover = h('div.popover-host');
  /** System metrics of the runs the charts show; loaded when expanded (one request per run). */
  private readonly systemSection = h('section.chart-section.system-section');
  private systemOpen = false;
  private collapsedGroups = new Set<string>();
  /** The runs (ids, newline-joined) whose keys metricKeys holds. */
  private keysFor = '';
  private metricKeys: string[] = [];
  private aggregate: { line: AggregateLine; band: AggregateBand } = { line: 'mean', band: 'minmax' };
  private chartKey = '';
  /** Timings of the last table and chart updates, for the performance figures. */
  readonly timings = { filterSortMs: 0, tableMs: 0, chartsMs: 0, drawMs: 0, runsLoadMs: 0 };

  /** The table's and the charts' timings together (window.__weightless.timings() in the browser tests). */
  figures(): Record<string, number> {
    return { ...this.timings, ...this.charts.timings };
  }

  constructor(
    private readonly entity: string,
    private readonly project: string,
    private readonly host: WorkspaceHost,
  ) {
    this.layoutStore = new LayoutStore(entity, project);
    this.table = new RunsTable({
      onSort: (key) => {
        const cur = this.state.sort;
        this.host.setState({ sort: cur?.key === key ? (cur.desc ? null : { key, desc: true }) : { key, desc: false } });
      },
      onToggleVisible: (id) => {
        const hidden = new Set(this.state.hidden);
        if (hidden.has(id)) hidden.delete(id);
        else hidden.add(id);
        this.host.setState({ hidden: [...hidden] });
      },
      onOpenRun: (id) => this.host.openRun(id),
      onToggleGroup: (key) => {
        if (this.collapsedGroups.has(key)) this.collapsedGroups.delete(key);
        else this.collapsedGroups.add(key);
        this.refreshTable();
      },
      onColour: (id, colour) => {
        this.layout.colours[id] = colour;
        this.persist();
        this.refreshTable();
        this.refreshCharts(true);
      },
    });
    this.charts = new ChartsArea({
      onZoom: (range) => this.host.setState({ zoom: range }),
      onEditPanel: (section, panel) => this.editPanel(section, panel),
      onRemovePanel: (section, panel) => this.removePanel(section, panel),
      onToggleSection: (name) => {
        const sections = this.materialisedSections();
        const s = sections.find((x) => x.name === name);
        if (s) s.collapsed = !s.collapsed;
        this.layout.sections = sections;
        this.persist();
        this.refreshCharts(true);
      },
    });
    this.element = h(
      'div.workspace',
      null,
      h('h1.page-title', null, h('a', { href: `/${encodeURIComponent(entity)}`, 'data-nav': '' }, entity), ' / ', project),
      this.toolbar,
      this.popover,
      this.table.element,
      this.chartBar,
      this.charts.element,
      this.systemSection,
    );
    this.renderSystem();
  }

  async load(state: ViewState): Promise<void> {
    this.state = state;
    this.status.textContent = 'Loading runs…';
    this.renderToolbar();
    const t0 = performance.now();
    try {
      const layout = this.layoutStore.load().catch((e: Error) => {
        this.layoutStatus.textContent = `Could not load the saved layout: ${e.message}`;
        return emptyLayout();
      });
      // With the default view (no filter, search, sort or hidden runs) the charted runs are the newest N:
      // their history keys are asked for now, with the runs list, not after it (checked against the list).
      const s = state;
      if (isEmptyFilter(s.filter) && !s.search && !s.sort && s.hidden.length === 0) {
        this.earlyKeys = api.projectHistoryKeysOfFirst(this.entity, this.project, s.firstN).catch(() => null);
      }
      mark('runs:start');
      this.runs = await api.allRuns(this.entity, this.project, (loaded, total) => (this.status.textContent = `Loading runs… ${loaded} / ${total}`));
      mark('runs:done');
      this.layout = await layout;
      mark('layout:done');
    } catch (e) {
      this.status.textContent = `Could not load runs: ${(e as Error).message}`;
      return;
    }
    this.timings.runsLoadMs = performance.now() - t0;
    this.apply(state);
  }

  /** New view state from the URL (navigation, back/forward). */
  apply(state: ViewState): void {
    const chartsChanged =
      !this.chartKey ||
      state.xAxis !== this.state.xAxis ||
      JSON.stringify(state.zoom) !== JSON.stringify(this.state.zoom);
    this.state = state;
    this.updateView();
    this.renderToolbar();
    this.renderChartBar();
    // The charts first, the table in the next task: with the charted runs' keys in (the newest runs' come
    // with the list), the charts' M4 requests are made in this task's microtasks and leave before the table
    // renders, so the server works on them meanwhile. The table's viewport has a fixed height: the panels'
    // positions, which decide what is on screen, do not wait for its rows.
    void this.refreshCharts(chartsChanged);
    clearTimeout(this.tableTimer);
    this.tableTimer = window.setTimeout(() => {
      this.renderTable();
      mark('table:done');
    }, 0);
  }

  /** The table render apply() left for the next task. */
  private tableTimer = 0;

  /** Saves the layout on the server; when it changed elsewhere meanwhile, shows the server's instead. */
  private renderSystem(): void {
    const toggle = h('button.section-toggle.system-toggle', { 'aria-expanded': String(this.systemOpen), on: { click: () => ((this.systemOpen = !this.systemOpen), this.renderSystem()) } }, this.systemOpen ? '▾ ' : '▸ ', 'System metrics');
    const body = h('div.system-body');
    this.systemSection.replaceChildren(h('h3.section-head', null, toggle), body);
    if (!this.systemOpen || !this.state) return;
    const runs = this.chartRuns().map((r) => ({ run: r, label: r.displayName ?? r.id, colour: this.colour(r.id) }));
    body.textContent = 'Loading system metrics…';
    void systemMetricsGrid(runs).then((grid) => body.replaceChildren(grid));
  }

  private persist(): void {
    this.layoutStatus.textContent = 'Saving layout…';
    this.layoutStore.save(this.layout).then(
      async (result) => {
        if (result === 'saved') {
          this.layoutStatus.textContent = 'Layout saved';
          return;
        }
        this.layout = await this.layoutStore.load();
        this.layoutStatus.textContent = 'The layout was changed elsewhere; showing the saved one.';
        this.refreshTable();
        this.refreshCharts(true);
      },
      (e: Error) => (this.layoutStatus.textContent = `Could not save the layout: ${e.message}`),
    );
  }

  private colour(id: string): string {
    return runColour(id, this.layout.colours);
  }

  private keysCache: { runs: Run[]; keys: { config: string[]; summary: string[] } } | null = null;

  /** Config/summary keys of the loaded runs, computed once per load (the table re-renders often). */
  private runKeys(): { config: string[]; summary: string[] } {
    if (this.keysCache?.runs !== this.runs) this.keysCache = { runs: this.runs, keys: discoverKeys(this.runs) };
    return this.keysCache.keys;
  }

  private allColumns(): { key: string; label: string }[] {
    const keys = this.runKeys();
    return [
      ...BASE_COLUMNS,
      ...keys.config.map((k) => ({ key: k, label: k.slice(7) })),
      ...keys.summary.map((k) => ({ key: k, label: k.slice(16) })),
    ];
  }

  private columns(): TableColumn[] {
    const all = new Map(this.allColumns().map((c) => [c.key, c.label]));
    let specs: ColumnSpec[] = this.layout.columns ?? [
      { key: 'displayName', pinned: true },
      ...BASE_COLUMNS.slice(1).map((c) => ({ key: c.key })),
      ...[...all.keys()].filter((k) => k.startsWith('config.')).slice(0, 6).map((key) => ({ key })),
      ...[...all.keys()].filter((k) => k.startsWith('summary_metrics.')).slice(0, 6).map((key) => ({ key })),
    ];
    specs = [...specs.filter((s) => s.pinned), ...specs.filter((s) => !s.pinned)];
    return specs.map((s) => ({ key: s.key, label: all.get(s.key) ?? s.key, pinned: !!s.pinned, width: s.key === 'displayName' ? 200 : s.key === 'tags' || s.key === 'createdAt' ? 170 : 120 }));
  }

  /** Filter, sort and group the loaded runs; re-render the table. */
  private refreshTable(): void {
    clearTimeout(this.tableTimer);
    this.updateView();
    this.renderTable();
  }

  /** Filters and sorts the runs (the table's rows, and the charts' runs in that order). */
  private updateView(): void {
    const t0 = performance.now();
    const filtered = filterRuns(this.runs, this.state.filter, this.state.search);
    this.view = sortRuns(filtered, this.state.sort);
    this.timings.filterSortMs = performance.now() - t0;
    // The charted runs' history keys are asked for before the table renders (the panels wait for them).
    void this.loadKeys(this.chartRuns());
  }

  private renderTable(): void {
    const t0 = performance.now();
    const rows: TableRow[] = [];
    if (this.state.groupBy) {
      for (const g of groupRuns(this.view, this.state.groupBy)) {
        const collapsed = this.collapsedGroups.has(g.key);
        rows.push({ kind: 'group', group: g, collapsed });
        if (!collapsed) for (const run of g.runs) rows.push({ kind: 'run', run });
      }
    } else {
      for (const run of this.view) rows.push({ kind: 'run', run });
    }
    const shown = new Set(this.chartRuns().map((r) => r.id));
    this.table.setData(rows, this.columns(), shown, (id) => this.colour(id), this.state.sort);
    this.timings.tableMs = this.timings.filterSortMs + performance.now() - t0;
    const hiddenCount = this.view.filter((r) => this.state.hidden.includes(r.id)).length;
    this.status.textContent = `${this.view.length} of ${this.runs.length} runs · ${shown.size} visualized${this.view.length - hiddenCount > shown.size ? ` (charts show the first ${this.state.firstN})` : ''}`;
  }

  /** Runs the charts show: table order, not hidden, first N. */
  private chartRuns(): Run[] {
    const hidden = new Set(this.state.hidden);
    const out: Run[] = [];
    for (const run of this.view) {
      if (hidden.has(run.id)) continue;
      out.push(run);
      if (out.length >= this.state.firstN) break;
    }
    return out;
  }

  private renderToolbar(): void {
    const search = h('input.search', { type: 'search', placeholder: 'Search run names (regex)', value: this.state?.search ?? '', 'aria-label': 'Search runs' });
    let timer = 0;
    search.addEventListener('input', () => {
      clearTimeout(timer);
      timer = window.setTimeout(() => this.host.setState({ search: search.value }, true), 200);
    });
    const filterCount = this.state && !isEmptyFilter(this.state.filter) ? ` (${this.state.filter.children.length})` : '';
    const groupSelect = h('select.group-by', { 'aria-label': 'Group by' }, h('option', { value: '' }, 'No grouping'), ...this.groupKeys().map((k) => h('option', { value: k }, k)));
    groupSelect.value = this.state?.groupBy ?? '';
    groupSelect.addEventListener('change', () => this.host.setState({ groupBy: groupSelect.value || null }));
    const firstN = h('input.first-n', { type: 'number', min: '1', max: '100', value: String(this.state?.firstN ?? 10), 'aria-label': 'Charts show the first N runs', title: 'Charts show the first N runs' });
    firstN.addEventListener('change', () => {
      const n = Math.max(1, Math.min(100, Math.floor(Number(firstN.value) || 10)));
      this.host.setState({ firstN: n });
    });
    this.toolbar.replaceChildren(
      search,
      h('button.filter-button', { 'aria-haspopup': 'dialog', on: { click: () => this.openFilter() } }, 'Filter' + filterCount),
      groupSelect,
      h('button', { on: { click: () => this.openColumns() } }, 'Columns'),
      h('label', null, 'Show first ', firstN),
      h('button', { on: { click: () => this.exportCsv() } }, 'Export CSV'),
      this.status,
    );
  }

  private groupKeys(): string[] {
    const keys = this.runKeys();
    return ['group', 'jobType', 'state', 'username', ...keys.config, ...keys.summary];
  }

  private openFilter(): void {
    const keys = ['state', 'displayName', 'tags', 'group', 'jobType', 'username', 'createdAt', ...this.groupKeys().slice(4)];
    this.popover.replaceChildren(
      filterBuilder(
        this.state.filter,
        keys,
        (f: FilterGroup) => {
          this.popover.replaceChildren();
          this.host.setState({ filter: f });
        },
        () => this.popover.replaceChildren(),
      ),
    );
    this.popover.querySelector<HTMLElement>('input, select, button')?.focus();
  }

  private openColumns(): void {
    const current = this.columns().map((c) => ({ key: c.key, pinned: c.pinned }));
    const shownKeys = new Set(current.map((c) => c.key));
    const all = this.allColumns();
    const order = [...current.map((c) => c.key), ...all.map((c) => c.key).filter((k) => !shownKeys.has(k))];
    const labels = new Map(all.map((c) => [c.key, c.label]));
    const pinned = new Set(current.filter((c) => c.pinned).map((c) => c.key));
    const list = h('ol.column-list');
    const draw = () => {
      list.replaceChildren(
        ...order.map((key, i) => {
          const show = h('input', { type: 'checkbox', checked: shownKeys.has(key), 'aria-label': `Show ${key}` });
          show.addEventListener('change', () => (show.checked ? shownKeys.add(key) : shownKeys.delete(key)));
          const pin = h('input', { type: 'checkbox', checked: pinned.has(key), 'aria-label': `Pin ${key}` });
          pin.addEventListener('change', () => (pin.checked ? pinned.add(key) : pinned.delete(key)));
          const move = (d: number) => {
            const j = i + d;
            if (j < 0 || j >= order.length) return;
            [order[i], order[j]] = [order[j]!, order[i]!];
            draw();
          };
          return h('li', null, show, h('span.col-name', null, labels.get(key) ?? key), h('label.pin', null, pin, 'pin'), h('button.icon', { 'aria-label': `Move ${key} up`, on: { click: () => move(-1) } }, '↑'), h('button.icon', { 'aria-label': `Move ${key} down`, on: { click: () => move(1) } }, '↓'));
        }),
      );
    };
    draw();
    this.popover.replaceChildren(
      h(
        'div.popover.columns-dialog',
        { role: 'dialog', 'aria-label': 'Columns' },
        h('h3', null, 'Columns'),
        list,
        h(
          'div.fb-footer',
          null,
          h('button.primary', {
            on: {
              click: () => {
                this.layout.columns = order.filter((k) => shownKeys.has(k)).map((key) => (pinned.has(key) ? { key, pinned: true } : { key }));
                this.persist();
                this.popover.replaceChildren();
                this.refreshTable();
              },
            },
          }, 'Apply'),
          h('button', { on: { click: () => this.popover.replaceChildren() } }, 'Close'),
        ),
      ),
    );
  }

  private exportCsv(): void {
    const cols = this.columns().map((c) => ({ key: c.key, label: c.label }));
    download(`${this.project}-runs.csv`, runsToCsv(this.view, cols), 'text/csv');
  }

  private renderChartBar(): void {
    const numericKeys = this.metricKeys.filter((k) => !k.startsWith('_'));
    const xSelect = h('select.x-axis', { 'aria-label': 'X axis' }, ...X_AXES.map((x) => h('option', { value: x.key }, x.label)), ...numericKeys.map((k) => h('option', { value: k }, k)));
    xSelect.value = this.state.xAxis;
    xSelect.addEventListener('change', () => this.host.setState({ xAxis: xSelect.value, zoom: null }));
    const kinds: [SmoothingKind, string][] = [['none', 'No smoothing'], ['ema', 'EMA'], ['running', 'Running average'], ['gaussian', 'Gaussian'], ['tb-ema', 'EMA (TensorBoard)']];
    const kind = h('select.smoothing', { 'aria-label': 'Smoothing' }, ...kinds.map(([k, l]) => h('option', { value: k }, l)));
    kind.value = this.state.smoothing.kind;
    const param = h('input.smoothing-param', { type: 'number', step: 'any', min: '0', value: String(this.state.smoothing.param), 'aria-label': 'Smoothing parameter', title: 'EMA: 0–1; running average: window N; gaussian: std (x units)' });
    const setSmoothing = () => this.host.setState({ smoothing: { kind: kind.value as SmoothingKind, param: Number(param.value) || 0 } }, true);
    kind.addEventListener('change', () => {
      if (kind.value === 'ema' && !(Number(param.value) > 0)) param.value = '0.6';
      if (kind.value === 'running' && !(Number(param.value) >= 1)) param.value = '10';
      setSmoothing();
    });
    param.addEventListener('change', setSmoothing);
    const logY = h('input', { type: 'checkbox', checked: this.state.logY, 'aria-label': 'Log scale y' });
    logY.addEventListener('change', () => this.host.setState({ logY: logY.checked }, true));
    const aggLine = h('select.agg-line', { 'aria-label': 'Group line' }, ...(['mean', 'median', 'min', 'max'] as const).map((a) => h('option', { value: a }, a)));
    aggLine.value = this.aggregate.line;
    const aggBand = h('select.agg-band', { 'aria-label': 'Group band' }, h('option', { value: 'minmax' }, 'min–max band'), h('option', { value: 'stderr' }, 'std. error band'), h('option', { value: 'none' }, 'no band'));
    aggBand.value = this.aggregate.band;
    const setAgg = () => {
      this.aggregate = { line: aggLine.value as AggregateLine, band: aggBand.value as AggregateBand };
      this.refreshCharts(true);
    };
    aggLine.addEventListener('change', setAgg);
    aggBand.addEventListener('change', setAgg);
    this.chartBar.replaceChildren();
    append(this.chartBar, [
      h('label', null, 'X axis ', xSelect),
      kind,
      param,
      h('label', null, logY, ' log y'),
      this.state.groupBy ? h('span.agg', null, 'Groups: ', aggLine, aggBand) : null,
      this.state.zoom ? h('button.reset-zoom', { on: { click: () => this.host.setState({ zoom: null }) } }, `Reset zoom (${this.state.zoom.map((v) => Math.round(v)).join('–')})`) : null,
      h('button.add-panel', { on: { click: () => this.editPanel(null, null) } }, '+ Add panel'),
      this.layout.sections ? h('button.reset-layout', { on: { click: () => ((this.layout.sections = null), this.persist(), this.refreshCharts(true)) } }, 'Reset to automatic') : null,
      this.layoutStatus,
    ]);
  }

  private materialisedSections(): SectionSpec[] {
    return structuredClone(this.layout.sections ?? automaticSections(this.metricKeys.filter((k) => !k.startsWith('_'))));
  }

  private editPanel(sectionName: string | null, panel: PanelSpec | null): void {
    const runKeys = this.groupKeys().filter((k) => k.startsWith('config.') || k.startsWith('summary_metrics.'));
    const types: [PanelType, string][] = [['line', 'Line plot'], ['scatter', 'Scatter'], ['bar', 'Bar'], ['parallel', 'Parallel coordinates'], ['comparer', 'Run comparer']];
    const type = h('select.panel-type', { 'aria-label': 'Panel type' }, ...types.map(([t, l]) => h('option', { value: t }, l)));
    type.value = panel?.type ?? 'line';
    const title = h('input.panel-title-input', { value: panel?.title ?? '', 'aria-label': 'Title' });
    const metrics = h('input.panel-metrics-input', { value: panel?.metrics.join(', ') ?? '', list: 'metric-keys', 'aria-label': 'Metrics (comma-separated)' });
    const x = h('input.panel-x-input', { value: panel?.x ?? '', list: 'run-keys', 'aria-label': 'X key' });
    const y = h('input.panel-y-input', { value: panel?.y ?? '', list: 'run-keys', 'aria-label': 'Y key' });
    const keys = h('input.panel-keys-input', { value: panel?.keys?.join(', ') ?? '', list: 'run-keys', 'aria-label': 'Axes keys (comma-separated)' });
    const section = h('input.panel-section-input', { value: sectionName ?? 'Custom', 'aria-label': 'Section' });
    const logY = h('input', { type: 'checkbox', checked: panel?.logY ?? false, 'aria-label': 'Log y' });
    const xAxis = h(
      'select.panel-x-axis',
      { 'aria-label': 'Panel x axis' },
      h('option', { value: '' }, 'Workspace x axis'),
      ...X_AXES.map((a) => h('option', { value: a.key }, a.label)),
      ...this.metricKeys.filter((k) => !k.startsWith('_')).map((k) => h('option', { value: k }, k)),
    );
    xAxis.value = panel?.xAxis ?? '';
    const error = h('p.error', { role: 'alert' });
    const rows = {
      metrics: h('label', null, 'Metrics ', metrics),
      x: h('label', null, 'X (config/summary key) ', x),
      y: h('label', null, 'Y (config/summary key) ', y),
      keys: h('label', null, 'Axes ', keys),
      logY: h('label', null, logY, ' log y'),
      xAxis: h('label', null, 'X axis ', xAxis),
    };
    const showFields = () => {
      const t = type.value as PanelType;
      rows.metrics.hidden = t !== 'line';
      rows.logY.hidden = t !== 'line';
      rows.xAxis.hidden = t !== 'line';
      rows.x.hidden = t !== 'scatter';
      rows.y.hidden = t !== 'scatter' && t !== 'bar';
      rows.keys.hidden = t !== 'parallel';
    };
    type.addEventListener('change', showFields);
    showFields();
    const list = (v: string) => v.split(',').map((m) => m.trim()).filter((m) => m !== '');
    const save = () => {
      const t = type.value as PanelType;
      const spec: PanelSpec = { id: panel && !panel.id.startsWith('auto:') ? panel.id : 'p' + Date.now().toString(36), type: t, title: '', metrics: [] };
      if (t === 'line') {
        spec.metrics = list(metrics.value);
        if (!spec.metrics.length) return void (error.textContent = 'Choose at least one metric.');
        if (logY.checked) spec.logY = true;
        if (xAxis.value) spec.xAxis = xAxis.value;
      } else if (t === 'scatter') {
        if (!x.value.trim() || !y.value.trim()) return void (error.textContent = 'Choose the x and y keys.');
        spec.x = x.value.trim();
        spec.y = y.value.trim();
      } else if (t === 'bar') {
        if (!y.value.trim()) return void (error.textContent = 'Choose the key of the bars.');
        spec.y = y.value.trim();
      } else if (t === 'parallel') {
        spec.keys = list(keys.value);
        if (spec.keys.length < 2) return void (error.textContent = 'Choose at least two axes.');
      }
      const fallback = t === 'line' ? spec.metrics.join(', ') : t === 'scatter' ? `${spec.y} vs ${spec.x}` : t === 'bar' ? spec.y! : t === 'parallel' ? 'Parallel coordinates' : 'Run comparer';
      spec.title = title.value.trim() || fallback;
      const sections = this.materialisedSections();
      const name = section.value.trim() || 'Custom';
      // An edited panel keeps its place when it stays in its section.
      const home = sections.find((s) => s.panels.some((p) => p.id === panel?.id));
      const at = home?.name === name ? home.panels.findIndex((p) => p.id === panel?.id) : -1;
      for (const s of sections) s.panels = s.panels.filter((p) => p.id !== panel?.id);
      let target = sections.find((s) => s.name === name);
      if (!target) sections.push((target = { name, panels: [] }));
      if (at >= 0) target.panels.splice(at, 0, spec);
      else target.panels.push(spec);
      this.layout.sections = sections.filter((s) => s.panels.length > 0);
      this.persist();
      this.closePopover();
      this.refreshCharts(true);
    };
    const dialog = h(
      'div.popover.panel-editor',
      { role: 'dialog', 'aria-label': panel ? 'Edit panel' : 'Add panel' },
      h('datalist', { id: 'metric-keys' }, ...this.metricKeys.map((k) => h('option', { value: k }))),
      h('datalist', { id: 'run-keys' }, ...runKeys.map((k) => h('option', { value: k }))),
      h('h3', null, panel ? 'Edit panel' : 'Add panel'),
      h('label', null, 'Type ', type),
      h('label', null, 'Title ', title),
      rows.metrics,
      rows.xAxis,
      rows.x,
      rows.y,
      rows.keys,
      h('label', null, 'Section ', section),
      rows.logY,
      error,
      h('div.fb-footer', null, h('button.primary.panel-save', { on: { click: save } }, 'Save'), h('button', { on: { click: () => this.closePopover() } }, 'Cancel')),
    );
    dialog.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.closePopover();
      if (e.key === 'Enter' && (e.target as HTMLElement).tagName === 'INPUT') save();
    });
    this.popover.replaceChildren(dialog);
    type.focus();
  }

  private closePopover(): void {
    this.popover.replaceChildren();
  }

  private removePanel(sectionName: string, panel: PanelSpec): void {
    const sections = this.materialisedSections();
    for (const s of sections) if (s.name === sectionName) s.panels = s.panels.filter((p) => p.id !== panel.id);
    this.layout.sections = sections.filter((s) => s.panels.length > 0);
    this.persist();
    this.refreshCharts(true);
  }

  /** The keys of the newest runs, asked for with the runs list (used when they are the charted runs). */
  private earlyKeys: Promise<{ keys: HistoryKey[]; runs: string[] } | null> | null = null;

  /** The keys request in flight (one per set of runs: the table's refresh starts it, the charts' awaits it). */
  private keysLoad: { key: string; promise: Promise<void> } | null = null;

  private loadKeys(runs: Run[]): Promise<void> {
    // One request for the keys of every run shown (not one per run); the panels are planned from their union.
    const ids = runs.map((r) => r.id);
    const key = ids.join('\n');
    if (key === this.keysFor) return Promise.resolve();
    if (this.keysLoad?.key === key) return this.keysLoad.promise;
    const promise = (async () => {
      try {
        mark('keys:start');
        const early = this.earlyKeys;
        this.earlyKeys = null;
        const guess = early ? await early : null;
        let keys: HistoryKey[];
        if (guess && guess.runs.length === ids.length && ids.every((id) => guess.runs.includes(id))) {
          keys = guess.keys;
        } else {
          const chunks = Array.from({ length: Math.ceil(ids.length / 1000) }, (_, i) => ids.slice(i * 1000, (i + 1) * 1000));
          keys = (await Promise.all(chunks.map((chunk) => api.projectHistoryKeys(this.entity, this.project, chunk)))).flat();
        }
        mark('keys:done');
        const numeric = new Set(keys.filter((k) => (k.types['number'] ?? 0) > 0).map((k) => k.key));
        this.metricKeys = [...numeric].sort();
        this.keysFor = key;
      } catch {
        // A run deleted meanwhile (404) or a failed request: the panels stay as they were; asked again on the next refresh.
      } finally {
        if (this.keysLoad?.key === key) this.keysLoad = null;
      }
    })();
    this.keysLoad = { key, promise };
    return promise;
  }

  /** Re-request buckets when the runs, x axis, zoom or panels changed; otherwise only re-style. */
  private async refreshCharts(force: boolean): Promise<void> {
    const runs = this.chartRuns();
    await this.loadKeys(runs);
    const t0 = performance.now();
    const groups: ChartGroup[] | null = this.state.groupBy
      ? groupRuns(runs, this.state.groupBy).map((g, i) => ({ key: g.key, label: g.label, colour: PALETTE[i % PALETTE.length]!, runIds: g.runs.map((r) => r.id) }))
      : null;
    const input = {
      entity: this.entity,
      project: this.project,
      runs: runs.map((r) => ({ id: r.id, run: r, label: r.displayName ?? r.id, colour: this.colour(r.id) })),
      groups,
      aggregate: this.aggregate,
      sections: this.layout.sections ?? automaticSections(this.metricKeys.filter((k) => !k.startsWith('_'))),
      xAxis: this.state.xAxis,
      zoom: this.state.zoom,
      smoothing: this.state.smoothing,
      logY: this.state.logY,
    };
    const key = JSON.stringify([input.runs.map((r) => r.id), groups?.map((g) => g.runIds), input.sections, input.xAxis, input.zoom, this.aggregate]);
    this.renderChartBar();
    if (!force && key === this.chartKey) {
      this.charts.restyle(input);
      this.timings.chartsMs = performance.now() - t0;
      this.timings.drawMs = this.charts.lastDrawMs;
      return;
    }
    this.chartKey = key;
    if (this.systemOpen) this.renderSystem();
    // A superseded update (a newer zoom, filter, ...) is not "ready": the newer one will be.
    if (!(await this.charts.update(input))) return;
    this.timings.chartsMs = performance.now() - t0;
    this.timings.drawMs = this.charts.lastDrawMs;
    document.body.dataset['chartsReady'] = String(Date.now());
  }
}
