// A project's workspace layout: chart sections and panels, and the runs table's columns.
// The REST contract has no layout endpoint yet, so layouts are kept in this browser's
// localStorage (per entity/project) until one exists; the store is the only place that changes.

export interface PanelSpec {
  id: string;
  title: string;
  metrics: string[];
  logY?: boolean;
}

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

const storageKey = (entity: string, project: string) => `weightless.layout.v1/${entity}/${project}`;

export function loadLayout(entity: string, project: string): WorkspaceLayout {
  try {
    const raw = localStorage.getItem(storageKey(entity, project));
    if (!raw) return emptyLayout();
    const parsed = JSON.parse(raw) as WorkspaceLayout;
    return parsed.version === 1 ? { ...emptyLayout(), ...parsed } : emptyLayout();
  } catch {
    return emptyLayout();
  }
}

export function saveLayout(entity: string, project: string, layout: WorkspaceLayout): void {
  try {
    localStorage.setItem(storageKey(entity, project), JSON.stringify(layout));
  } catch {
    // Quota or private mode: the layout lives for this page only.
  }
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
