// ANSI SGR colour codes in console output -> styled segments (colours 30-37/90-97, 40-47/100-107,
// bold, reset). Other escape sequences (cursor movement, progress-bar redraws) are dropped.

export interface AnsiSegment {
  text: string;
  fg?: number;
  bg?: number;
  bold?: boolean;
}

// eslint-disable-next-line no-control-regex
const ESCAPE = /\u001b\[([0-9;?]*)([A-Za-z])/g;

export function parseAnsi(line: string): AnsiSegment[] {
  const out: AnsiSegment[] = [];
  let fg: number | undefined;
  let bg: number | undefined;
  let bold = false;
  let last = 0;
  const push = (text: string) => {
    if (!text) return;
    const seg: AnsiSegment = { text };
    if (fg !== undefined) seg.fg = fg;
    if (bg !== undefined) seg.bg = bg;
    if (bold) seg.bold = true;
    out.push(seg);
  };
  for (const m of line.matchAll(ESCAPE)) {
    push(line.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[2] !== 'm') continue;
    const codes = (m[1] || '0').split(';').map((c) => Number(c || '0'));
    for (const c of codes) {
      if (c === 0) {
        fg = bg = undefined;
        bold = false;
      } else if (c === 1) bold = true;
      else if (c === 22) bold = false;
      else if (c === 39) fg = undefined;
      else if (c === 49) bg = undefined;
      else if (c >= 30 && c <= 37) fg = c - 30;
      else if (c >= 90 && c <= 97) fg = c - 90 + 8;
      else if (c >= 40 && c <= 47) bg = c - 40;
      else if (c >= 100 && c <= 107) bg = c - 100 + 8;
    }
  }
  push(line.slice(last));
  return out;
}
