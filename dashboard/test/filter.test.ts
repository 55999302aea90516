import { describe, expect, it } from 'vitest';
import { evaluateFilter, fromFilterJson, parseFilterValue, toFilterJson, type FilterGroup } from '../src/lib/filter';

const tree: FilterGroup = {
  kind: 'group',
  op: 'and',
  children: [
    { kind: 'cond', key: 'state', op: '=', value: 'finished' },
    { kind: 'cond', key: 'config.lr', op: '≥', value: 0.001 },
    {
      kind: 'group',
      op: 'or',
      children: [
        { kind: 'cond', key: 'tags', op: 'in', value: ['baseline', 'best'] },
        { kind: 'cond', key: 'summary_metrics.loss', op: '<', value: 0.5 },
        { kind: 'cond', key: 'displayName', op: 'regex', value: '^sweep-' },
      ],
    },
    { kind: 'cond', key: 'group', op: 'not in', value: ['old'] },
    { kind: 'cond', key: 'config.seed', op: 'exists', value: true },
    { kind: 'cond', key: 'jobType', op: '≠', value: 'eval' },
    { kind: 'cond', key: 'summary_metrics.acc', op: '>', value: 0.9 },
    { kind: 'cond', key: 'summary_metrics.epoch', op: '≤', value: 10 },
  ],
};

describe('filter builder -> filter JSON', () => {
  it('emits the MongoDB-style language with every operator', () => {
    expect(toFilterJson(tree)).toEqual({
      $and: [
        { state: { $eq: 'finished' } },
        { 'config.lr': { $gte: 0.001 } },
        { $or: [{ tags: { $in: ['baseline', 'best'] } }, { 'summary_metrics.loss': { $lt: 0.5 } }, { displayName: { $regex: '^sweep-' } }] },
        { group: { $nin: ['old'] } },
        { 'config.seed': { $exists: true } },
        { jobType: { $ne: 'eval' } },
        { 'summary_metrics.acc': { $gt: 0.9 } },
        { 'summary_metrics.epoch': { $lte: 10 } },
      ],
    });
  });

  it('an empty builder means no filter, and empty subgroups are dropped', () => {
    expect(toFilterJson({ kind: 'group', op: 'and', children: [] })).toEqual({});
    expect(toFilterJson({ kind: 'group', op: 'or', children: [{ kind: 'group', op: 'and', children: [] }, { kind: 'cond', key: 'state', op: '=', value: 'running' }] })).toEqual({
      $or: [{ state: { $eq: 'running' } }],
    });
  });

  it('round-trips through fromFilterJson', () => {
    expect(toFilterJson(fromFilterJson(toFilterJson(tree)))).toEqual(toFilterJson(tree));
    expect(fromFilterJson({ state: 'running', 'config.lr': { $gt: 1 } }).children).toHaveLength(2);
  });

  it('parses typed values', () => {
    expect(parseFilterValue('=', '0.5')).toBe(0.5);
    expect(parseFilterValue('=', 'finished')).toBe('finished');
    expect(parseFilterValue('in', 'a, 2, null')).toEqual(['a', 2, null]);
    expect(parseFilterValue('exists', 'false')).toBe(false);
    expect(parseFilterValue('regex', '^a.*')).toBe('^a.*');
  });
});

describe('local evaluation', () => {
  const run = (fields: Record<string, unknown>) => (key: string) => fields[key];
  it('agrees with the operators', () => {
    const match = run({ state: 'finished', 'config.lr': 0.01, tags: ['best'], group: 'g1', 'config.seed': 1, jobType: 'train', 'summary_metrics.acc': 0.95, 'summary_metrics.epoch': 3, displayName: 'x' });
    expect(evaluateFilter(tree, match)).toBe(true);
    const noTags = run({ state: 'finished', 'config.lr': 0.01, tags: [], group: 'g1', 'config.seed': 1, jobType: 'train', 'summary_metrics.acc': 0.95, 'summary_metrics.epoch': 3, displayName: 'sweep-7' });
    expect(evaluateFilter(tree, noTags)).toBe(true);
    const failsOr = run({ state: 'finished', 'config.lr': 0.01, tags: [], group: 'g1', 'config.seed': 1, jobType: 'train', 'summary_metrics.acc': 0.95, 'summary_metrics.epoch': 3, displayName: 'x', 'summary_metrics.loss': 0.7 });
    expect(evaluateFilter(tree, failsOr)).toBe(false);
    expect(evaluateFilter({ kind: 'cond', key: 'config.seed', op: 'exists', value: false }, run({}))).toBe(true);
    expect(evaluateFilter({ kind: 'cond', key: 'x', op: '<', value: 3 }, run({ x: 'a' }))).toBe(false);
  });
});
