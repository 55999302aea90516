import { describe, expect, it } from 'vitest';
import { aggregateRuns } from '../src/lib/aggregate';
import type { M4Bucket } from '../src/lib/m4';

const b = (start: number, last: number): M4Bucket => ({ xStart: start, xEnd: start + 10, lastX: start + 9, first: last, min: last, max: last, last, count: 10 });

describe('grouping aggregation', () => {
  const runs = [[b(0, 1), b(10, 4)], [b(0, 3), b(10, 6)], [b(0, 8), b(10, 5)]];
  it('mean with min–max band', () => {
    const a = aggregateRuns(runs, 'mean', 'minmax');
    expect(a.buckets.map((x) => x.last)).toEqual([4, 5]);
    expect(a.band).toEqual([{ x: 9, lo: 1, hi: 8 }, { x: 19, lo: 4, hi: 6 }]);
  });
  it('median, min, max', () => {
    expect(aggregateRuns(runs, 'median', 'none').buckets.map((x) => x.last)).toEqual([3, 5]);
    expect(aggregateRuns(runs, 'min', 'none').buckets.map((x) => x.last)).toEqual([1, 4]);
    expect(aggregateRuns(runs, 'max', 'none').buckets.map((x) => x.last)).toEqual([8, 6]);
  });
  it('stderr band = sample std / sqrt(n) around the line', () => {
    const a = aggregateRuns(runs, 'mean', 'stderr');
    // bucket 0: values 1,3,8, mean 4, sample variance (9+1+16)/2 = 13, se = sqrt(13/3)
    expect(a.band[0]!.hi - 4).toBeCloseTo(Math.sqrt(13 / 3), 12);
  });
});
