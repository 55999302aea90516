import { describe, expect, it } from 'vitest';
import type { Run } from '../src/lib/api';
import { bars, compareRuns, flattenKeys, numeric, parallelAxes, parallelLines, scatterPoints, type PanelRun } from '../src/lib/runpanels';

function run(id: string, config: Record<string, unknown>, summary: Record<string, unknown>): Run {
  return { id, entity: 'e', project: 'p', state: 'finished', createdAt: '2026-01-01T00:00:00Z', heartbeatAt: '2026-01-01T00:00:00Z', tags: [], config, summary };
}

const runs: PanelRun[] = [
  run('a', { lr: 0.1, optimizer: 'adam', net: { width: 64 } }, { acc: 0.9, loss: 0.3 }),
  run('b', { lr: 0.01, optimizer: 'sgd', net: { width: 128 } }, { acc: 0.8 }),
  run('c', { lr: { value: 0.001 }, optimizer: 'adam', net: { width: 64 } }, { acc: '0.7', loss: 0.5 }),
].map((r, i) => ({ run: r, label: r.id, colour: ['#111111', '#222222', '#333333'][i]! }));

describe('run panels', () => {
  it('reads numbers from numbers, numeric strings and booleans only', () => {
    expect(numeric(3)).toBe(3);
    expect(numeric('2.5')).toBe(2.5);
    expect(numeric(true)).toBe(1);
    expect(numeric('adam')).toBeNull();
    expect(numeric(NaN)).toBeNull();
    expect(numeric('')).toBeNull();
  });

  it('scatter: runs with numbers at both keys, others counted as missing', () => {
    const { points, missing } = scatterPoints(runs, 'config.lr', 'summary_metrics.loss');
    expect(points.map((p) => [p.id, p.x, p.y])).toEqual([
      ['a', 0.1, 0.3],
      ['c', 0.001, 0.5],
    ]);
    expect(missing).toBe(1);
  });

  it('bar: a bar per run with a number, in run order', () => {
    expect(bars(runs, 'summary_metrics.acc').map((b) => [b.id, b.value, b.colour])).toEqual([
      ['a', 0.9, '#111111'],
      ['b', 0.8, '#222222'],
      ['c', 0.7, '#333333'],
    ]);
  });

  it('parallel coordinates: numeric axes scale min..max, categorical axes spread sorted values', () => {
    const axes = parallelAxes(runs, ['config.net.width', 'config.optimizer', 'summary_metrics.loss']);
    expect(axes.map((a) => a.kind)).toEqual(['numeric', 'categorical', 'numeric']);
    expect(axes[0]!.min).toBe(64);
    expect(axes[0]!.max).toBe(128);
    expect(axes[1]!.categories).toEqual(['adam', 'sgd']);
    const lines = parallelLines(runs, axes);
    expect(lines.map((l) => l.positions)).toEqual([
      [0, 0, 0],
      [1, 1, null],
      [0, 0, 1],
    ]);
  });

  it('flattens nested config and unwraps {value} wrappers, skipping _wandb internals', () => {
    const flat = flattenKeys({ lr: { value: 0.1, desc: null }, net: { width: 64, act: 'relu' }, _wandb: { x: 1 } });
    expect([...flat.entries()]).toEqual([
      ['lr', 0.1],
      ['net.width', 64],
      ['net.act', 'relu'],
    ]);
  });

  it('comparer: a row per key, differing rows flagged (missing differs), differences first on request', () => {
    const { config, summary } = compareRuns(runs.map((r) => r.run), true);
    expect(config.map((r) => [r.key, r.differs])).toEqual([
      ['lr', true],
      ['net.width', true],
      ['optimizer', true],
    ]);
    const same = compareRuns([runs[0]!.run, runs[2]!.run]);
    expect(same.config.find((r) => r.key === 'optimizer')).toEqual({ key: 'optimizer', values: ['adam', 'adam'], differs: false });
    expect(summary.find((r) => r.key === 'loss')!.values).toEqual(['0.3', '—', '0.5']);
  });
});
