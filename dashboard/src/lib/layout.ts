// A project's workspace layout: chart sections and panels, and the runs table's columns.
// Saved per user per project on the server (REST .../workspace), so it follows the user.

import { api, ApiError } from './api';

export type PanelType = 'line' | 'scatter' | 'bar' | 'parallel' | 'comparer';

export interface PanelSpec {
  id: string;
  /** Absent: a line plot. */
  type?: PanelType;
  title: string;
  /** line: the history keys plotted. */
  metrics: string[];
  /** scatter: run keys (runs-table column keys, e.g. config.lr) on x and y; bar: y only. */
  x?: string;
  y?: string;
  /** parallel: the run keys of the axes. */
  keys?: string[];
  logY?: boolean;
  /** line: this panel's x axis (`_step`, `_runtime`, `_timestamp` or a logged metric); absent: the workspace's. */
  xAxis?: string;
}

export const isLinePanel = (p: PanelSpec) => (p.type ?? 'line') === 'line';

export interface SectionSpec {
  name: string;
  panels: PanelSpec[];
  collapsed?: boolean;
}

export interface ColumnSpec {
  key: string;
  pinned?: boolean;
}

export interface WorkspaceLayout {
  version: 1;
  /** null: automatic (a panel per logged metric); otherwise the user's own sections. */
  sections: SectionSpec[] | null;
  columns: ColumnSpec[] | null;
  colours: Record<string, string>;
}

export function emptyLayout(): WorkspaceLayout {
  return { version: 1, sections: null, columns: null, colours: {} };
}

/**
 * The server copy of the layout (GET/PUT .../workspace, per user, so it follows them across
 * browsers). Saves are serialised and carry the ETag last seen; when another tab or browser saved
 * in between, the save fails with 'conflict' and the caller reloads the server's layout.
 */
export class LayoutStore {
  private etag: string | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly entity: string,
    private readonly project: string,
  ) {}

  async load(): Promise<WorkspaceLayout> {
    const doc = await api.workspace(this.entity, this.project);
    this.etag = doc.saved ? doc.etag : null;
    return normaliseLayout(doc.layout);
  }

  save(layout: WorkspaceLayout): Promise<'saved' | 'conflict'> {
    const snapshot = structuredClone(layout);
    const next = this.queue.then(async () => {
      try {
        const doc = await api.saveWorkspace(this.entity, this.project, snapshot, this.etag);
        this.etag = doc.etag;
        return 'saved' as const;
      } catch (e) {
        if (e instanceof ApiError && e.status === 412) return 'conflict' as const;
        throw e;
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/** A layout from the server with every optional part present. */
export function normaliseLayout(raw: Partial<WorkspaceLayout> | null | undefined): WorkspaceLayout {
  return { version: 1, sections: raw?.sections ?? null, columns: raw?.columns ?? null, colours: raw?.colours ?? {} };
}

/** Section for a metric key: the prefix before the first '/', system metrics apart, the rest in "Charts". */
export function sectionOf(key: string): string {
  if (key.startsWith('system/') || key.startsWith('system.')) return 'System';
  const slash = key.indexOf('/');
  return slash > 0 ? key.slice(0, slash) : 'Charts';
}

/** The automatic layout: one panel per numeric metric, grouped by prefix, sections sorted with Charts first. */
export function automaticSections(metrics: readonly string[]): SectionSpec[] {
  const bySection = new Map<string, PanelSpec[]>();
  for (const m of [...metrics].sort()) {
    const s = sectionOf(m);
    let panels = bySection.get(s);
    if (!panels) bySection.set(s, (panels = []));
    panels.push({ id: 'auto:' + m, title: m, metrics: [m] });
  }
  const order = (name: string) => (name === 'Charts' ? '0' : name === 'System' ? '2' : '1' + name);
  return [...bySection.entries()].sort((a, b) => (order(a[0]) < order(b[0]) ? -1 : 1)).map(([name, panels]) => ({ name, panels }));
}
