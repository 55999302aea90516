// Sign-in. Local mode: the user pastes an API key, kept in sessionStorage (gone when the tab
// closes) and sent as `Authorization: Bearer <key>`. Entra mode: MSAL, loaded only when Entra is
// configured (build-time VITE_ENTRA_* variables, as the REST contract has no UI-config endpoint),
// so the default bundle carries none of it.

const KEY_STORAGE = 'weightless.apiKey';

export interface EntraConfig {
  clientId: string;
  authority: string;
  scopes: string[];
}

export function entraConfig(): EntraConfig | null {
  const env = import.meta.env;
  const clientId = env['VITE_ENTRA_CLIENT_ID'] as string | undefined;
  if (!clientId) return null;
  return {
    clientId,
    authority: (env['VITE_ENTRA_AUTHORITY'] as string | undefined) ?? 'https://login.microsoftonline.com/organizations',
    scopes: ((env['VITE_ENTRA_SCOPES'] as string | undefined) ?? '').split(/[ ,]+/).filter((s) => s !== ''),
  };
}

export function apiKey(): string | null {
  try {
    return sessionStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

export function setApiKey(key: string): void {
  sessionStorage.setItem(KEY_STORAGE, key.trim());
}

export function signOutLocal(): void {
  try {
    sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // Storage unavailable (private mode): nothing to clear.
  }
}

type MsalModule = typeof import('@azure/msal-browser');
type MsalApp = InstanceType<MsalModule['PublicClientApplication']>;
let msal: Promise<MsalApp> | null = null;

function loadMsal(config: EntraConfig): Promise<MsalApp> {
  msal ??= import('@azure/msal-browser').then(async (m) => {
    const app = new m.PublicClientApplication({
      auth: { clientId: config.clientId, authority: config.authority, redirectUri: window.location.origin + '/' },
      cache: { cacheLocation: 'sessionStorage' },
    });
    await app.initialize();
    const redirect = await app.handleRedirectPromise();
    if (redirect?.account) app.setActiveAccount(redirect.account);
    return app;
  });
  return msal;
}

export async function signInWithEntra(): Promise<void> {
  const config = entraConfig();
  if (!config) throw new Error('Entra sign-in is not configured for this deployment.');
  const app = await loadMsal(config);
  const result = await app.loginPopup({ scopes: config.scopes });
  app.setActiveAccount(result.account);
}

/** True when some credential is present (a key, or an Entra account in the MSAL cache). */
export function hasCredential(): boolean {
  if (apiKey()) return true;
  const config = entraConfig();
  if (!config) return false;
  try {
    return Object.keys(sessionStorage).some((k) => k.includes(config.clientId));
  } catch {
    return false;
  }
}

export async function authorizationHeader(): Promise<string | null> {
  const key = apiKey();
  if (key) return `Bearer ${key}`;
  const config = entraConfig();
  if (!config) return null;
  const app = await loadMsal(config);
  const account = app.getActiveAccount() ?? app.getAllAccounts()[0];
  if (!account) return null;
  const token = await app.acquireTokenSilent({ scopes: config.scopes, account });
  return `Bearer ${token.accessToken}`;
}

export async function signOut(): Promise<void> {
  signOutLocal();
  const config = entraConfig();
  if (config && msal) {
    const app = await msal;
    const account = app.getActiveAccount();
    if (account) await app.clearCache({ account });
  }
}
