// The dashboard shell: routing from the URL (history API; back/forward re-render from the URL),
// the top bar (theme, sign-out), sign-in, entities and projects pages.

import './styles.css';
import { mark, timeline } from './lib/perf';
import { api, ApiError, requestLog, setUnauthenticatedHandler } from './lib/api';
import { entraConfig, hasCredential, setApiKey, signInWithEntra, signOut } from './lib/auth';
import { decodeViewState, encodeViewState, parseRoute, routePath, type Route, type ViewState } from './lib/urlstate';
import { formatDateTime } from './lib/runs';
import { clear, h } from './ui/dom';
import { renderRunPage } from './ui/runpage';
import { WorkspacePage } from './ui/workspace';

mark('script');
const app = document.getElementById('app')!;
const main = h('main#main', { tabIndex: -1 });
let workspace: { key: string; page: WorkspacePage } | null = null;

function currentUrl(): string {
  return location.pathname + location.search;
}

export function go(path: string, replace = false): void {
  if (path === currentUrl()) return;
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  void render();
}

function setState(patch: Partial<ViewState>, replace = false): void {
  const state = { ...decodeViewState(location.search), ...patch };
  go(location.pathname + encodeViewState(state), replace);
}

setUnauthenticatedHandler(() => {
  if (parseRoute(location.pathname, location.search).page !== 'signin') go(routePath({ page: 'signin', next: currentUrl() }), true);
});

// ---- theme ----
const THEME_KEY = 'weightless.theme';
function applyTheme(theme: string): void {
  document.documentElement.dataset['theme'] = theme;
}
applyTheme(localStorage.getItem(THEME_KEY) ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'));

function topBar(): HTMLElement {
  const themeButton = h('button.theme-toggle', {
    title: 'Toggle light/dark theme',
    on: {
      click: () => {
        const next = document.documentElement.dataset['theme'] === 'dark' ? 'light' : 'dark';
        localStorage.setItem(THEME_KEY, next);
        applyTheme(next);
        void render();
      },
    },
  }, '◐ Theme');
  return h(
    'header.topbar',
    null,
    h('a.skip', { href: '#main' }, 'Skip to content'),
    h('a.brand', { href: '/', 'data-nav': '' }, 'Weightless'),
    h('span.spacer'),
    themeButton,
    hasCredential() ? h('button.sign-out', { on: { click: async () => (await signOut(), go('/signin')) } }, 'Sign out') : null,
  );
}

// ---- pages ----
function signInPage(next: string | undefined): HTMLElement {
  const key = h('input#api-key', { type: 'password', autocomplete: 'off', placeholder: 'API key', 'aria-label': 'API key', required: true });
  const error = h('p.error', { role: 'alert' });
  const submit = async (e: Event) => {
    e.preventDefault();
    error.textContent = '';
    setApiKey(key.value);
    try {
      const viewer = await api.viewer();
      go(next && next.startsWith('/') && !next.startsWith('//') ? next : `/${encodeURIComponent(viewer.defaultEntity)}`, true);
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 401 ? 'That API key was not accepted.' : `Sign-in failed: ${(err as Error).message}`;
    }
  };
  const entra = entraConfig();
  return h(
    'section.signin',
    null,
    h('h1', null, 'Sign in to Weightless'),
    h(
      'form.signin-form',
      { on: { submit: (e: Event) => void submit(e) } },
      h('label', { for: 'api-key' }, 'Paste an API key (kept for this tab only)'),
      key,
      h('button.primary', { type: 'submit' }, 'Sign in'),
    ),
    entra
      ? h('button.entra', {
          on: {
            click: async () => {
              try {
                await signInWithEntra();
                go(next ?? '/', true);
              } catch (err) {
                error.textContent = `Microsoft sign-in failed: ${(err as Error).message}`;
              }
            },
          },
        }, 'Sign in with Microsoft')
      : null,
    error,
  );
}

async function homePage(): Promise<HTMLElement> {
  const viewer = await api.viewer();
  return h(
    'section',
    null,
    h('h1', null, `Signed in as ${viewer.username}`),
    h('ul.entity-list', null, ...viewer.entities.map((e) => h('li', null, h('a', { href: `/${encodeURIComponent(e.name)}`, 'data-nav': '' }, e.name), ` · ${e.kind}, ${e.role}`))),
  );
}

async function projectsPage(entity: string): Promise<HTMLElement> {
  const projects = await api.projects(entity);
  projects.sort((a, b) => ((a.lastRunCreatedAt ?? '') < (b.lastRunCreatedAt ?? '') ? 1 : -1));
  return h(
    'section',
    null,
    h('h1.page-title', null, entity, ' · projects'),
    projects.length === 0
      ? h('p.empty', null, 'No projects yet. Log a run with WANDB_BASE_URL pointing here.')
      : h(
          'table.projects',
          null,
          h('thead', null, h('tr', null, h('th', null, 'Project'), h('th', null, 'Runs'), h('th', null, 'Last activity'))),
          h(
            'tbody',
            null,
            ...projects.map((p) =>
              h(
                'tr',
                null,
                h('td', null, h('a', { href: `/${encodeURIComponent(entity)}/${encodeURIComponent(p.name)}`, 'data-nav': '' }, p.name)),
                h('td.num', null, String(p.runCount)),
                h('td', null, p.lastRunCreatedAt ? formatDateTime(p.lastRunCreatedAt) : ''),
              ),
            ),
          ),
        ),
  );
}

// ---- render loop ----
let renderSeq = 0;
async function render(): Promise<void> {
  const seq = ++renderSeq;
  const route: Route = parseRoute(location.pathname, location.search);
  if (route.page !== 'signin' && !hasCredential()) {
    go(routePath({ page: 'signin', next: currentUrl() }), true);
    return;
  }
  const state = decodeViewState(location.search);
  app.replaceChildren(topBar(), main);

  if (route.page === 'workspace') {
    const key = `${route.entity}/${route.project}`;
    if (workspace?.key === key) {
      main.replaceChildren(workspace.page.element);
      workspace.page.apply(state);
      return;
    }
    const page = new WorkspacePage(route.entity, route.project, { setState, openRun: (id) => go(routePath({ page: 'run', entity: route.entity, project: route.project, runId: id, tab: 'overview' })) });
    workspace = { key, page };
    main.replaceChildren(page.element);
    document.title = `${route.project} · Weightless`;
    await page.load(state);
    return;
  }
  workspace = null;
  clear(main);
  main.append(h('p.loading', null, 'Loading…'));
  try {
    let content: HTMLElement;
    switch (route.page) {
      case 'signin':
        content = signInPage(route.next);
        document.title = 'Sign in · Weightless';
        break;
      case 'home':
        content = await homePage();
        document.title = 'Weightless';
        break;
      case 'projects':
        content = await projectsPage(route.entity);
        document.title = `${route.entity} · Weightless`;
        break;
      case 'run':
        content = await renderRunPage(route.entity, route.project, route.runId, route.tab, state, { setState, go });
        document.title = `${route.runId} · Weightless`;
        break;
    }
    if (seq !== renderSeq) return;
    main.replaceChildren(content);
    main.querySelector<HTMLElement>('input, [autofocus]')?.focus();
  } catch (e) {
    if (seq !== renderSeq) return;
    if (e instanceof ApiError && e.status === 401) return;
    main.replaceChildren(h('p.error', { role: 'alert' }, (e as Error).message));
  }
}

// In-app links navigate without a reload.
document.addEventListener('click', (e) => {
  const a = (e.target as Element).closest?.('a[data-nav]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
  e.preventDefault();
  go(a.getAttribute('href')!);
});
window.addEventListener('popstate', () => void render());

// For the browser tests: what the dashboard asked the API, and the last timings.
Object.assign(window, { __weightless: { requestLog, timings: () => workspace?.page.figures(), timeline } });

void render();
