import { describe, expect, it } from 'vitest';
import { decodeViewState, defaultViewState, encodeViewState, parseRoute, routePath, type Route, type ViewState } from '../src/lib/urlstate';

describe('URL state', () => {
  it('round-trips a full view state', () => {
    const state: ViewState = {
      filter: {
        kind: 'group',
        op: 'or',
        children: [
          { kind: 'cond', key: 'config.lr', op: '>', value: 0.01 },
          { kind: 'group', op: 'and', children: [{ kind: 'cond', key: 'tags', op: 'in', value: ['a b', 'c&d'] }] },
        ],
      },
      search: 'run-[0-9]+',
      sort: { key: 'summary_metrics.loss', desc: true },
      groupBy: 'config.optimizer',
      hidden: ['abc', 'def'],
      firstN: 25,
      xAxis: '_runtime',
      zoom: [1000.5, 200000],
      smoothing: { kind: 'gaussian', param: 3.5 },
      logY: true,
    };
    const search = encodeViewState(state);
    expect(decodeViewState(search)).toEqual(state);
  });

  it('omits defaults and decodes an empty query to the defaults', () => {
    expect(encodeViewState(defaultViewState())).toBe('');
    expect(decodeViewState('')).toEqual(defaultViewState());
  });

  it('ignores malformed parameters instead of failing', () => {
    const s = decodeViewState('?filter=%7Bbad&zoom=5,1&first=-3&smooth=magic:1');
    expect(s.filter.children).toHaveLength(0);
    expect(s.zoom).toBeNull();
    expect(s.firstN).toBe(10);
    expect(s.smoothing.kind).toBe('none');
  });

  it('round-trips routes, escaping names', () => {
    const routes: Route[] = [
      { page: 'home' },
      { page: 'signin', next: '/e/p?x=1' },
      { page: 'projects', entity: 'my team' },
      { page: 'workspace', entity: 'e', project: 'p/q' },
      { page: 'run', entity: 'e', project: 'p', runId: 'r1', tab: 'overview' },
      { page: 'run', entity: 'e', project: 'p', runId: 'r1', tab: 'logs' },
    ];
    for (const r of routes) {
      const [path, query] = routePath(r).split('?');
      expect(parseRoute(path!, query ? '?' + query : '')).toEqual(r);
    }
  });
});
