// The REST API the dashboard reads (functions/query/openapi.json, /api/v1). Only this module knows
// routes and wire shapes; pages use the typed functions below.

import { decodeM4Columns, M4Columns, m4Series, M4_COLUMNS, M4_COLUMNS_TYPE, type M4Bucket, type M4Series } from './m4';
import { authorizationHeader, signOutLocal } from './auth';
import type { WorkspaceLayout } from './layout';

export interface Viewer {
  username: string;
  email?: string;
  admin: boolean;
  authMethod: 'apiKey' | 'entra';
  defaultEntity: string;
  entities: { name: string; kind: string; role: string }[];
}

export interface Project {
  entity: string;
  name: string;
  createdAt?: string;
  createdBy?: string;
  runCount: number;
  lastRunCreatedAt?: string;
}

export type RunState = 'pending' | 'running' | 'finished' | 'failed' | 'crashed' | 'killed' | 'preempting' | 'preempted';

export interface Run {
  id: string;
  entity: string;
  project: string;
  displayName?: string;
  state: RunState;
  createdAt: string;
  heartbeatAt: string;
  updatedAt?: string;
  user?: string;
  tags: string[];
  group?: string;
  jobType?: string;
  host?: string;
  sweep?: string;
  notes?: string;
  description?: string;
  commit?: string;
  runtime?: number;
  historyLineCount?: number;
  lastStep?: number;
  config: Record<string, unknown>;
  summary: Record<string, unknown>;
}

export interface RunPage {
  runs: Run[];
  total: number;
  nextCursor?: string;
}

export interface HistoryKey {
  key: string;
  types: Record<string, number>;
}

export interface M4Request {
  runs: string[];
  metrics: string[];
  xAxis: string;
  min?: number;
  max?: number;
  buckets: number;
}

/** A bucket of the JSON M4 answer (points left out when the bucket has no finite value). */
interface WireM4Bucket {
  start: number;
  end: number;
  count: number;
  first?: { x: number; y: number };
  last?: { x: number; y: number };
  min?: { x: number; y: number };
  max?: { x: number; y: number };
}

export type { M4Series };

export interface LogLine {
  index: number;
  text: string;
  stream: 'stdout' | 'stderr';
}

export interface LogPage {
  lines: LogLine[];
  lineCount: number;
  nextCursor?: string;
}

export interface RunFile {
  name: string;
  sizeBytes?: number;
  md5?: string;
  updatedAt?: string;
  contentType?: string;
  url: string;
}

export interface SystemMetrics {
  keys: string[];
  rows: Record<string, unknown>[];
}

export interface RunPatch {
  displayName?: string;
  notes?: string;
  tags?: string[];
}

export interface WorkspaceDocument {
  saved: boolean;
  etag: string | null;
  updatedAt?: string | null;
  layout: WorkspaceLayout;
}

export interface LineageGraph {
  nodes: { id: string; kind: string; label: string }[];
  edges: { from: string; to: string; relation: string }[];
  truncated: boolean;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
  ) {
    super(detail ? `${title}: ${detail}` : title);
  }
}

/** Called on 401 so the app can send the user to sign-in (set by main.ts). */
let onUnauthenticated: (() => void) | null = null;
export function setUnauthenticatedHandler(handler: () => void): void {
  onUnauthenticated = handler;
}

/** Every request the dashboard makes, for the network log the browser tests read. */
export const requestLog: { method: string; path: string; body?: unknown }[] = [];

async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal, extraHeaders?: Record<string, string>): Promise<T> {
  const response = await send(method, path, body, signal, { Accept: 'application/json', ...extraHeaders });
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** Sends a request; a non-2xx answer becomes an ApiError (401 also signs out). */
async function send(method: string, path: string, body: unknown, signal: AbortSignal | undefined, extraHeaders: Record<string, string>): Promise<Response> {
  const headers: Record<string, string> = { ...extraHeaders };
  const auth = await authorizationHeader();
  if (auth) headers['Authorization'] = auth;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  requestLog.push({ method, path, body });
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = JSON.stringify(body);
  if (signal) init.signal = signal;
  const response = await fetch(path, init);
  if (response.status === 401) {
    signOutLocal();
    onUnauthenticated?.();
    throw new ApiError(401, 'Sign-in required');
  }
  if (!response.ok) {
    let title = response.statusText || `HTTP ${response.status}`;
    let detail: string | undefined;
    try {
      const problem = (await response.json()) as { title?: string; detail?: string };
      title = problem.title ?? title;
      detail = problem.detail;
    } catch {
      // Not a problem-details body; the status text is all there is.
    }
    throw new ApiError(response.status, title, detail);
  }
  return response;
}

const e = encodeURIComponent;
const projectPath = (entity: string, project: string) => `/api/v1/entities/${e(entity)}/projects/${e(project)}`;
const runPath = (entity: string, project: string, run: string) => `${projectPath(entity, project)}/runs/${e(run)}`;

export const api = {
  viewer: () => request<Viewer>('GET', '/api/v1/viewer'),

  projects: async (entity: string) => (await request<{ projects: Project[] }>('GET', `/api/v1/entities/${e(entity)}/projects`)).projects,

  /** One page of runs (filter/sort evaluated server-side). */
  queryRuns: (entity: string, project: string, query: { filter?: unknown; sort?: string[]; limit?: number; cursor?: string }, signal?: AbortSignal) =>
    request<RunPage>('POST', `${projectPath(entity, project)}/runs/query`, query, signal),

  /** Every run of a project (the run index the table filters, sorts and groups in the browser). */
  async allRuns(entity: string, project: string, onPage?: (loaded: number, total: number) => void, signal?: AbortSignal): Promise<Run[]> {
    const runs: Run[] = [];
    let cursor: string | undefined;
    do {
      const query: { limit: number; cursor?: string } = { limit: 1000 };
      if (cursor) query.cursor = cursor;
      const page = await api.queryRuns(entity, project, query, signal);
      runs.push(...page.runs);
      onPage?.(runs.length, page.total);
      cursor = page.nextCursor;
    } while (cursor);
    return runs;
  },

  run: (entity: string, project: string, run: string) => request<Run>('GET', runPath(entity, project, run)),

  updateRun: (entity: string, project: string, run: string, patch: RunPatch) => request<Run>('PATCH', runPath(entity, project, run), patch),

  historyKeys: async (entity: string, project: string, run: string) =>
    (await request<{ keys: HistoryKey[]; lastStep?: number }>('GET', `${runPath(entity, project, run)}/history/keys`)).keys,

  /** The history keys of many runs in one request (at most 1,000 runs), with how many of them logged each key. */
  projectHistoryKeys: async (entity: string, project: string, runs: string[], signal?: AbortSignal) =>
    (await request<{ keys: (HistoryKey & { runs: number })[] }>('POST', `${projectPath(entity, project)}/runs/history/keys`, { runs }, signal)).keys,

  /** The history keys of the project's first <paramref name="first"/> runs (newest first) and which runs they were. */
  projectHistoryKeysOfFirst: async (entity: string, project: string, first: number, signal?: AbortSignal) => {
    const answer = await request<{ keys: (HistoryKey & { runs: number })[]; lastSteps: Record<string, number | null> }>('POST', `${projectPath(entity, project)}/runs/history/keys`, { first }, signal);
    return { keys: answer.keys, runs: Object.keys(answer.lastSteps) };
  },

  async m4(entity: string, project: string, req: M4Request, signal?: AbortSignal): Promise<M4Series[]> {
    const body: Record<string, unknown> = { runs: req.runs, metrics: req.metrics, xAxis: req.xAxis, buckets: req.buckets };
    if (req.min !== undefined) body['min'] = req.min;
    if (req.max !== undefined) body['max'] = req.max;
    if (globalThis.localStorage?.getItem('weightless.m4Format') === 'json') {
      // The JSON answer, kept for before/after measurements (PerformanceFigures).
      const response = await request<{ series: { run: string; metric: string; buckets: WireM4Bucket[] }[] }>('POST', `${projectPath(entity, project)}/runs/history/m4`, body, signal);
      return response.series.map((s) => m4Series(s.run, s.metric, M4Columns.fromBuckets(s.buckets.map(fromWireBucket))));
    }
    // The compact columns answer (only the columns the charts draw from): no per-bucket JSON objects to parse.
    const path = `${projectPath(entity, project)}/runs/history/m4?format=columns&columns=${M4_COLUMNS.join(',')}`;
    const response = await send('POST', path, body, signal, { Accept: `${M4_COLUMNS_TYPE}, application/problem+json` });
    return decodeM4Columns(await response.arrayBuffer()).series;
  },

  systemMetrics: (entity: string, project: string, run: string, samples = 2000) =>
    request<SystemMetrics>('GET', `${runPath(entity, project, run)}/system-metrics?samples=${samples}`),

  logs: (entity: string, project: string, run: string, cursor?: string, limit = 500) =>
    request<LogPage>('GET', `${runPath(entity, project, run)}/logs?limit=${limit}${cursor ? `&cursor=${e(cursor)}` : ''}`),

  files: (entity: string, project: string, run: string, cursor?: string) =>
    request<{ files: RunFile[]; nextCursor?: string }>('GET', `${runPath(entity, project, run)}/files?limit=500${cursor ? `&cursor=${e(cursor)}` : ''}`),

  /** The signed-in user's saved layout of a project (the default one until saved). */
  workspace: (entity: string, project: string) => request<WorkspaceDocument>('GET', `${projectPath(entity, project)}/workspace`),

  /** Saves it; etag null = create only. A 412 ApiError means it changed elsewhere since it was read. */
  saveWorkspace: (entity: string, project: string, layout: WorkspaceLayout, etag: string | null) =>
    request<WorkspaceDocument>('PUT', `${projectPath(entity, project)}/workspace`, layout, undefined, etag ? { 'If-Match': etag } : { 'If-None-Match': '*' }),

  /** Artifacts the run used (inputs) and logged (outputs). */
  artifactLineage: (entity: string, project: string, run: string) => request<LineageGraph>('GET', `${runPath(entity, project, run)}/artifact-lineage?depth=1`),

};

function fromWireBucket(b: WireM4Bucket): M4Bucket {
  if (!b.min || !b.max || !b.last || !b.first) {
    return { xStart: b.start, xEnd: b.end, lastX: b.end, first: NaN, min: NaN, max: NaN, last: NaN, count: b.count };
  }
  return { xStart: b.start, xEnd: b.end, lastX: b.last.x, first: b.first.y, min: b.min.y, max: b.max.y, last: b.last.y, count: b.count };
}
