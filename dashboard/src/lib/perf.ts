// The first-render timeline: named marks from the dashboard (Performance API, prefix "wl:") and the
// API requests the browser made (resource timing, with the server's Server-Timing breakdown when it
// sends one). Read by the browser tests through window.__weightless.timeline().

const PREFIX = 'wl:';

/** Marks a moment of the first render (the first mark of a name wins: later renders do not move it). */
export function mark(name: string): void {
  if (typeof performance === 'undefined' || !performance.mark) return;
  if (performance.getEntriesByName(PREFIX + name, 'mark').length > 0) return;
  performance.mark(PREFIX + name);
}

export interface TimelineEntry {
  /** A mark's name, or "METHOD path" style name of a request (the path without the origin). */
  name: string;
  kind: 'mark' | 'request';
  /** ms after navigation start. */
  start: number;
  /** Requests: response start (first byte) and end. */
  firstByte?: number;
  end?: number;
  bytes?: number;
  /** Requests: the server's Server-Timing entries (name → ms). */
  server?: Record<string, number>;
}

export function timeline(): TimelineEntry[] {
  if (typeof performance === 'undefined' || !performance.getEntries) return [];
  const out: TimelineEntry[] = [];
  const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
  if (nav) {
    out.push({ name: 'page: document received', kind: 'mark', start: nav.responseEnd });
    out.push({ name: 'page: DOMContentLoaded', kind: 'mark', start: nav.domContentLoadedEventStart });
  }
  for (const m of performance.getEntriesByType('mark')) {
    if (m.name.startsWith(PREFIX)) out.push({ name: m.name.slice(PREFIX.length), kind: 'mark', start: m.startTime });
  }
  for (const r of performance.getEntriesByType('resource') as PerformanceResourceTiming[]) {
    const url = new URL(r.name);
    const server: Record<string, number> = {};
    for (const t of r.serverTiming ?? []) server[t.name] = t.duration;
    out.push({ name: url.pathname + url.search, kind: 'request', start: r.startTime, firstByte: r.responseStart, end: r.responseEnd, bytes: r.encodedBodySize, server });
  }
  return out.sort((a, b) => a.start - b.start);
}
