// The runs table: virtualised (only the rows in view exist in the DOM, so 10,000+ runs scroll
// smoothly), sortable by any column, with group header rows, eye toggles and run colours.

import type { Run } from '../lib/api';
import { formatDateTime, formatDuration, formatValue, runField, type RunGroup } from '../lib/runs';
import type { SortSpec } from '../lib/urlstate';
import { h } from './dom';

export const ROW_HEIGHT = 28;

export interface TableColumn {
  key: string;
  label: string;
  pinned: boolean;
  width: number;
}

export type TableRow = { kind: 'group'; group: RunGroup; collapsed: boolean } | { kind: 'run'; run: Run };

export interface RunsTableCallbacks {
  onSort(key: string): void;
  onToggleVisible(runId: string): void;
  onOpenRun(runId: string): void;
  onToggleGroup(key: string): void;
  onColour(runId: string, colour: string): void;
}

export class RunsTable {
  readonly element: HTMLElement;
  private readonly header: HTMLElement;
  private readonly viewport: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly body: HTMLElement;
  private rows: TableRow[] = [];
  private columns: TableColumn[] = [];
  private shown = new Set<string>();
  private colourOf: (id: string) => string = () => '#888';
  private sort: SortSpec | null = null;
  private lastRange = '';

  constructor(private readonly cb: RunsTableCallbacks) {
    this.header = h('div.rt-header', { role: 'row' });
    this.spacer = h('div.rt-spacer');
    this.body = h('div.rt-body', { role: 'rowgroup' });
    this.viewport = h('div.rt-viewport', { tabIndex: 0, role: 'grid', 'aria-label': 'Runs' }, this.header, this.spacer, this.body);
    this.element = h('div.runs-table', null, this.viewport);
    this.viewport.addEventListener('scroll', () => this.renderRows(false), { passive: true });
    this.viewport.addEventListener('keydown', (e) => {
      if (e.key === 'PageDown') this.viewport.scrollTop += this.viewport.clientHeight;
      else if (e.key === 'PageUp') this.viewport.scrollTop -= this.viewport.clientHeight;
      else if (e.key === 'Home') this.viewport.scrollTop = 0;
      else if (e.key === 'End') this.viewport.scrollTop = this.viewport.scrollHeight;
      else return;
      e.preventDefault();
    });
  }

  setData(rows: TableRow[], columns: TableColumn[], shown: Set<string>, colourOf: (id: string) => string, sort: SortSpec | null): void {
    this.rows = rows;
    this.columns = columns;
    this.shown = shown;
    this.colourOf = colourOf;
    this.sort = sort;
    this.renderHeader();
    this.spacer.style.height = rows.length * ROW_HEIGHT + 'px';
    this.renderRows(true);
  }

  private totalWidth(): number {
    return 64 + this.columns.reduce((a, c) => a + c.width, 0);
  }

  private renderHeader(): void {
    const cells: HTMLElement[] = [h('div.rt-cell.rt-ctl.pinned', { style: { left: '0px', width: '64px' } }, '')];
    let left = 64;
    for (const c of this.columns) {
      const sorted = this.sort?.key === c.key;
      const cell = h(
        'button.rt-cell.rt-head',
        {
          style: { width: c.width + 'px', ...(c.pinned ? { left: left + 'px' } : {}) },
          title: `Sort by ${c.key}`,
          'aria-sort': sorted ? (this.sort!.desc ? 'descending' : 'ascending') : 'none',
          'data-key': c.key,
          on: { click: () => this.cb.onSort(c.key) },
        },
        c.label,
        sorted ? (this.sort!.desc ? ' ▼' : ' ▲') : '',
      );
      if (c.pinned) cell.classList.add('pinned');
      cells.push(cell);
      if (c.pinned) left += c.width;
    }
    this.header.replaceChildren(...cells);
    this.header.style.width = this.totalWidth() + 'px';
  }

  private renderRows(force: boolean): void {
    const top = this.viewport.scrollTop;
    const height = this.viewport.clientHeight || 400;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - 10);
    const last = Math.min(this.rows.length, Math.ceil((top + height) / ROW_HEIGHT) + 10);
    const range = `${first}:${last}`;
    if (!force && range === this.lastRange) return;
    this.lastRange = range;
    const out: HTMLElement[] = [];
    for (let i = first; i < last; i++) out.push(this.renderRow(this.rows[i]!, i));
    this.body.replaceChildren(...out);
  }

  private renderRow(row: TableRow, index: number): HTMLElement {
    const style = { top: ROW_HEIGHT + index * ROW_HEIGHT + 'px', width: this.totalWidth() + 'px' };
    if (row.kind === 'group') {
      return h(
        'div.rt-row.rt-group',
        { style, role: 'row' },
        h(
          'button.rt-group-toggle',
          { on: { click: () => this.cb.onToggleGroup(row.group.key) }, 'aria-expanded': String(!row.collapsed) },
          row.collapsed ? '▸ ' : '▾ ',
          h('span.rt-group-label', null, row.group.label),
          h('span.badge', null, String(row.group.runs.length)),
        ),
      );
    }
    const run = row.run;
    const visible = this.shown.has(run.id);
    const colour = this.colourOf(run.id);
    const colourInput = h('input.rt-colour', { type: 'color', value: colour, title: 'Run colour', 'aria-label': `Colour of ${run.displayName ?? run.id}` });
    colourInput.addEventListener('change', () => this.cb.onColour(run.id, colourInput.value));
    const cells: HTMLElement[] = [
      h(
        'div.rt-cell.rt-ctl.pinned',
        { style: { left: '0px', width: '64px' } },
        h('button.eye', { title: visible ? 'Hide from charts' : 'Show on charts', 'aria-pressed': String(visible), 'data-run': run.id, on: { click: () => this.cb.onToggleVisible(run.id) } }, visible ? '◉' : '○'),
        colourInput,
      ),
    ];
    let left = 64;
    for (const c of this.columns) {
      const cell = h('div.rt-cell', { style: { width: c.width + 'px', ...(c.pinned ? { left: left + 'px' } : {}) } }, this.cellContent(run, c.key));
      if (c.pinned) {
        cell.classList.add('pinned');
        left += c.width;
      }
      cells.push(cell);
    }
    return h('div.rt-row', { style, role: 'row', 'data-run': run.id }, ...cells);
  }

  private cellContent(run: Run, key: string): Node | string {
    switch (key) {
      case 'displayName':
        return h('a.run-link', { href: '#', 'data-run': run.id, on: { click: (e: MouseEvent) => (e.preventDefault(), this.cb.onOpenRun(run.id)) } }, run.displayName ?? run.id);
      case 'state':
        return h(`span.state.state-${run.state}`, null, run.state);
      case 'createdAt':
        return formatDateTime(run.createdAt);
      case 'runtime':
        return formatDuration(run.runtime);
      case 'tags':
        return h('span', null, ...run.tags.map((t) => h('span.tag', null, t)));
      default:
        return formatValue(runField(run, key));
    }
  }
}
