import { describe, expect, it } from 'vitest';
import { parseAnsi } from '../src/lib/ansi';
import { automaticSections, sectionOf } from '../src/lib/layout';

describe('ANSI', () => {
  it('splits colour runs and resets', () => {
    expect(parseAnsi('a\u001b[31mred\u001b[0m b \u001b[1;92mok\u001b[m')).toEqual([
      { text: 'a' },
      { text: 'red', fg: 1 },
      { text: ' b ' },
      { text: 'ok', fg: 10, bold: true },
    ]);
  });
  it('drops non-colour escapes', () => {
    expect(parseAnsi('\u001b[2K\u001b[1Gprogress 50%')).toEqual([{ text: 'progress 50%' }]);
  });
});

describe('sections', () => {
  it('groups by prefix with system metrics apart', () => {
    expect(sectionOf('train/loss')).toBe('train');
    expect(sectionOf('loss')).toBe('Charts');
    expect(sectionOf('system/cpu')).toBe('System');
    expect(automaticSections(['val/acc', 'train/loss', 'lr', 'system/gpu.0.gpu']).map((s) => s.name)).toEqual(['Charts', 'train', 'val', 'System']);
  });
});
