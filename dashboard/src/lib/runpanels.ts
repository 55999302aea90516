// Data for the panels drawn from runs' config and summary (not history): scatter, bar, parallel
// coordinates and the run comparer. Pure functions; the canvases and tables live in ui/runpanels.ts.

import type { Run } from './api';
import { fieldAccessor, formatValue } from './runs';

export interface PanelRun {
  run: Run;
  label: string;
  colour: string;
}

export interface ScatterPoint {
  id: string;
  label: string;
  colour: string;
  x: number;
  y: number;
}

/** A finite number from a run value (numbers, numeric strings, booleans as 0/1); null otherwise. */
export function numeric(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v !== null && typeof v === 'object' && 'value' in v) return numeric((v as { value: unknown }).value);
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/** Runs with numbers at both keys, as points; runs missing either are left out (and counted). */
export function scatterPoints(runs: readonly PanelRun[], xKey: string, yKey: string): { points: ScatterPoint[]; missing: number } {
  const fx = fieldAccessor(xKey);
  const fy = fieldAccessor(yKey);
  const points: ScatterPoint[] = [];
  for (const r of runs) {
    const x = numeric(fx(r.run));
    const y = numeric(fy(r.run));
    if (x === null || y === null) continue;
    points.push({ id: r.run.id, label: r.label, colour: r.colour, x, y });
  }
  return { points, missing: runs.length - points.length };
}

export interface Bar {
  id: string;
  label: string;
  colour: string;
  value: number;
}

/** One bar per run with a number at the key, in the given run order. */
export function bars(runs: readonly PanelRun[], key: string): Bar[] {
  const f = fieldAccessor(key);
  const out: Bar[] = [];
  for (const r of runs) {
    const v = numeric(f(r.run));
    if (v !== null) out.push({ id: r.run.id, label: r.label, colour: r.colour, value: v });
  }
  return out;
}

/** One vertical axis of a parallel coordinates plot: numeric (min..max) or categorical (sorted distinct values). */
export interface ParallelAxis {
  key: string;
  kind: 'numeric' | 'categorical';
  min: number;
  max: number;
  categories: string[];
  /** Position of a value on the axis, 0 (bottom) .. 1 (top); null when the run has no value. */
  position(v: unknown): number | null;
}

export function parallelAxes(runs: readonly PanelRun[], keys: readonly string[]): ParallelAxis[] {
  return keys.map((key) => {
    const f = fieldAccessor(key);
    const values = runs.map((r) => f(r.run)).filter((v) => v !== undefined && v !== null);
    const nums = values.map(numeric);
    if (values.length > 0 && nums.every((n) => n !== null)) {
      let min = Infinity;
      let max = -Infinity;
      for (const n of nums as number[]) {
        if (n < min) min = n;
        if (n > max) max = n;
      }
      const span = max - min;
      return {
        key,
        kind: 'numeric' as const,
        min,
        max,
        categories: [],
        position: (v: unknown) => {
          const n = numeric(v);
          if (n === null) return null;
          return span === 0 ? 0.5 : (n - min) / span;
        },
      };
    }
    const categories = [...new Set(values.map((v) => formatValue(v)))].sort();
    return {
      key,
      kind: 'categorical' as const,
      min: 0,
      max: Math.max(0, categories.length - 1),
      categories,
      position: (v: unknown) => {
        if (v === undefined || v === null) return null;
        const i = categories.indexOf(formatValue(v));
        if (i < 0) return null;
        return categories.length === 1 ? 0.5 : i / (categories.length - 1);
      },
    };
  });
}

/** Each run's polyline through the axes (null where the run has no value at that axis). */
export function parallelLines(runs: readonly PanelRun[], axes: readonly ParallelAxis[]): { id: string; colour: string; label: string; positions: (number | null)[] }[] {
  const readers = axes.map((a) => fieldAccessor(a.key));
  return runs.map((r) => ({ id: r.run.id, colour: r.colour, label: r.label, positions: axes.map((a, i) => a.position(readers[i]!(r.run))) }));
}

export interface ComparerRow {
  key: string;
  values: string[];
  /** Not every run has the same value here. */
  differs: boolean;
}

/** Flattened keys of a nested object, dotted (`net.width`), W&B's `{value: x}` wrappers unwrapped. */
export function flattenKeys(obj: Record<string, unknown>, prefix = '', out: Map<string, unknown> = new Map()): Map<string, unknown> {
  for (const [k, raw] of Object.entries(obj)) {
    if (k.startsWith('_')) continue;
    const v = raw !== null && typeof raw === 'object' && !Array.isArray(raw) && 'value' in raw && Object.keys(raw).length <= 2 ? (raw as { value: unknown }).value : raw;
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flattenKeys(v as Record<string, unknown>, key, out);
    else out.set(key, v);
  }
  return out;
}

/**
 * Config and summary side by side: a row per key any run has, a column per run, rows where the
 * runs disagree flagged (a missing value differs from any present one). Differing rows first when asked.
 */
export function compareRuns(runs: readonly Run[], differencesFirst = false): { config: ComparerRow[]; summary: ComparerRow[] } {
  const side = (pick: (r: Run) => Record<string, unknown>): ComparerRow[] => {
    const flat = runs.map((r) => flattenKeys(pick(r)));
    const keys = [...new Set(flat.flatMap((m) => [...m.keys()]))].sort();
    const rows = keys.map((key) => {
      const values = flat.map((m) => (m.has(key) ? formatValue(m.get(key)) : '—'));
      return { key, values, differs: values.some((v) => v !== values[0]) };
    });
    return differencesFirst ? [...rows.filter((r) => r.differs), ...rows.filter((r) => !r.differs)] : rows;
  };
  return { config: side((r) => r.config), summary: side((r) => r.summary) };
}
