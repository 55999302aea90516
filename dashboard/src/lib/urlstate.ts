// The dashboard's whole view state lives in the URL, so a link shows the same view and the
// browser's back/forward buttons move between views. Paths follow W&B's shape:
//   /                          -> entities of the signed-in user
//   /signin                    -> sign-in
//   /{entity}                  -> projects of an entity
//   /{entity}/{project}        -> workspace (runs table + charts)
//   /{entity}/{project}/runs/{runId}[/{tab}] -> run page
// Query parameters carry filters, sort, grouping, the run selection, x axis, zoom and smoothing.

import { emptyFilter, fromFilterJson, isEmptyFilter, toFilterJson, type FilterGroup } from './filter';
import type { SmoothingKind, SmoothingSettings } from './smoothing';

export type Route =
  | { page: 'home' }
  | { page: 'signin'; next?: string }
  | { page: 'projects'; entity: string }
  | { page: 'workspace'; entity: string; project: string }
  | { page: 'run'; entity: string; project: string; runId: string; tab: RunTab };

export type RunTab = 'overview' | 'charts' | 'system' | 'logs' | 'files' | 'artifacts';
const RUN_TABS: readonly RunTab[] = ['overview', 'charts', 'system', 'logs', 'files', 'artifacts'];

export interface SortSpec {
  key: string;
  desc: boolean;
}

export interface ViewState {
  filter: FilterGroup;
  /** Free-text run-name search (regex), as in W&B's runs sidebar. */
  search: string;
  sort: SortSpec | null;
  groupBy: string | null;
  /** Runs explicitly hidden with the eye toggle (by id). */
  hidden: string[];
  /** Charts show the first N visible runs. */
  firstN: number;
  xAxis: string;
  zoom: [number, number] | null;
  smoothing: SmoothingSettings;
  logY: boolean;
}

export const DEFAULT_FIRST_N = 10;

export function defaultViewState(): ViewState {
  return {
    filter: emptyFilter(),
    search: '',
    sort: null,
    groupBy: null,
    hidden: [],
    firstN: DEFAULT_FIRST_N,
    xAxis: '_step',
    zoom: null,
    smoothing: { kind: 'none', param: 0 },
    logY: false,
  };
}

const SMOOTHING_KINDS: readonly SmoothingKind[] = ['none', 'ema', 'running', 'gaussian', 'tb-ema'];

const enc = (s: string) => encodeURIComponent(s);

export function routePath(route: Route): string {
  switch (route.page) {
    case 'home':
      return '/';
    case 'signin':
      return route.next ? `/signin?next=${enc(route.next)}` : '/signin';
    case 'projects':
      return `/${enc(route.entity)}`;
    case 'workspace':
      return `/${enc(route.entity)}/${enc(route.project)}`;
    case 'run':
      return `/${enc(route.entity)}/${enc(route.project)}/runs/${enc(route.runId)}${route.tab === 'overview' ? '' : '/' + route.tab}`;
  }
}

export function parseRoute(pathname: string, search: string): Route {
  const parts = pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  if (parts.length === 0) return { page: 'home' };
  if (parts[0] === 'signin' && parts.length === 1) {
    const next = new URLSearchParams(search).get('next') ?? undefined;
    return next ? { page: 'signin', next } : { page: 'signin' };
  }
  if (parts.length === 1) return { page: 'projects', entity: parts[0]! };
  if (parts.length === 2) return { page: 'workspace', entity: parts[0]!, project: parts[1]! };
  if (parts.length >= 4 && parts[2] === 'runs') {
    const tab = (RUN_TABS as readonly string[]).includes(parts[4] ?? '') ? (parts[4] as RunTab) : 'overview';
    return { page: 'run', entity: parts[0]!, project: parts[1]!, runId: parts[3]!, tab };
  }
  return { page: 'projects', entity: parts[0]! };
}

/** Query string for a view state; defaults are omitted so URLs stay short. */
export function encodeViewState(state: ViewState): string {
  const q = new URLSearchParams();
  if (!isEmptyFilter(state.filter)) q.set('filter', JSON.stringify(toFilterJson(state.filter)));
  if (state.search) q.set('search', state.search);
  if (state.sort) q.set('sort', (state.sort.desc ? '-' : '') + state.sort.key);
  if (state.groupBy) q.set('group', state.groupBy);
  if (state.hidden.length) q.set('hidden', state.hidden.join(','));
  if (state.firstN !== DEFAULT_FIRST_N) q.set('first', String(state.firstN));
  if (state.xAxis !== '_step') q.set('x', state.xAxis);
  if (state.zoom) q.set('zoom', `${state.zoom[0]},${state.zoom[1]}`);
  if (state.smoothing.kind !== 'none') q.set('smooth', `${state.smoothing.kind}:${state.smoothing.param}`);
  if (state.logY) q.set('logy', '1');
  const s = q.toString();
  return s ? '?' + s : '';
}

export function decodeViewState(search: string): ViewState {
  const q = new URLSearchParams(search);
  const state = defaultViewState();
  const filter = q.get('filter');
  if (filter) {
    try {
      state.filter = fromFilterJson(JSON.parse(filter) as Record<string, unknown>);
    } catch {
      state.filter = emptyFilter();
    }
  }
  state.search = q.get('search') ?? '';
  const sort = q.get('sort');
  if (sort) state.sort = sort.startsWith('-') ? { key: sort.slice(1), desc: true } : { key: sort, desc: false };
  state.groupBy = q.get('group') || null;
  const hidden = q.get('hidden');
  if (hidden) state.hidden = hidden.split(',').filter((h) => h !== '');
  const first = Number(q.get('first'));
  if (Number.isInteger(first) && first > 0) state.firstN = first;
  state.xAxis = q.get('x') || '_step';
  const zoom = q.get('zoom')?.split(',').map(Number);
  if (zoom && zoom.length === 2 && zoom.every(Number.isFinite) && zoom[0]! < zoom[1]!) state.zoom = [zoom[0]!, zoom[1]!];
  const smooth = q.get('smooth');
  if (smooth) {
    const [kind, param] = smooth.split(':');
    if ((SMOOTHING_KINDS as readonly string[]).includes(kind ?? '') && Number.isFinite(Number(param))) {
      state.smoothing = { kind: kind as SmoothingKind, param: Number(param) };
    }
  }
  state.logY = q.get('logy') === '1';
  return state;
}
