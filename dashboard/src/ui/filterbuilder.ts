// The filter builder: nested and/or groups of `key op value` conditions, edited in place and
// applied as one tree (which the URL and the REST filter language carry).

import { FILTER_OPS, parseFilterValue, type FilterCondition, type FilterGroup, type FilterNode, type FilterOp } from '../lib/filter';
import { h } from './dom';

function valueText(c: FilterCondition): string {
  if (Array.isArray(c.value)) return c.value.map((v) => String(v)).join(', ');
  return c.value === null ? 'null' : String(c.value);
}

export function filterBuilder(initial: FilterGroup, keys: readonly string[], onApply: (f: FilterGroup) => void, onClose: () => void): HTMLElement {
  const tree: FilterGroup = structuredClone(initial);
  const listId = 'filter-keys';
  const datalist = h('datalist', { id: listId }, ...keys.map((k) => h('option', { value: k })));
  const root = h('div.filter-tree');

  const renderGroup = (group: FilterGroup, parent: FilterGroup | null): HTMLElement => {
    const opSelect = h('select.fb-join', { 'aria-label': 'Combine with' }, h('option', { value: 'and' }, 'and'), h('option', { value: 'or' }, 'or'));
    opSelect.value = group.op;
    opSelect.addEventListener('change', () => (group.op = opSelect.value as 'and' | 'or'));
    const items = group.children.map((child) => (child.kind === 'group' ? renderGroup(child, group) : renderCondition(child, group)));
    return h(
      'div.fb-group',
      null,
      h('div.fb-group-head', null, 'Match ', opSelect, ' of:', parent ? h('button.link', { on: { click: () => remove(parent, group) } }, 'remove group') : null),
      ...items,
      h(
        'div.fb-actions',
        null,
        h('button', { class: 'fb-add-cond', on: { click: () => (group.children.push({ kind: 'cond', key: 'state', op: '=', value: 'finished' }), redraw()) } }, '+ condition'),
        h('button', { on: { click: () => (group.children.push({ kind: 'group', op: group.op === 'and' ? 'or' : 'and', children: [] }), redraw()) } }, '+ group'),
      ),
    );
  };

  const renderCondition = (c: FilterCondition, parent: FilterGroup): HTMLElement => {
    const key = h('input.fb-key', { value: c.key, list: listId, 'aria-label': 'Column' });
    key.addEventListener('input', () => (c.key = key.value.trim()));
    const op = h('select.fb-op', { 'aria-label': 'Operator' }, ...FILTER_OPS.map((o) => h('option', { value: o }, o)));
    op.value = c.op;
    const value = h('input.fb-value', { value: valueText(c), 'aria-label': 'Value', placeholder: 'value (comma-separated for in)' });
    const sync = () => {
      c.op = op.value as FilterOp;
      c.value = parseFilterValue(c.op, value.value);
    };
    op.addEventListener('change', sync);
    value.addEventListener('input', sync);
    return h('div.fb-cond', null, key, op, value, h('button.icon', { title: 'Remove condition', 'aria-label': 'Remove condition', on: { click: () => remove(parent, c) } }, '✕'));
  };

  const remove = (parent: FilterGroup, node: FilterNode) => {
    parent.children = parent.children.filter((n) => n !== node);
    redraw();
  };
  const redraw = () => root.replaceChildren(renderGroup(tree, null));
  redraw();

  return h(
    'div.popover.filter-builder',
    { role: 'dialog', 'aria-label': 'Filter runs' },
    datalist,
    root,
    h(
      'div.fb-footer',
      null,
      h('button.primary.fb-apply', { on: { click: () => onApply(tree) } }, 'Apply'),
      h('button', { on: { click: () => onApply({ kind: 'group', op: 'and', children: [] }) } }, 'Clear'),
      h('button', { on: { click: onClose } }, 'Close'),
    ),
  );
}
