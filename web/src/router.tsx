// A small history-API router: paths are real URLs (the server answers
// index.html for any of them), links push history entries, and pages read
// the location through a hook. Enough for five routes, with no dependency.

import {
  createContext,
  useCallback,
  useContext,
  useSyncExternalStore,
  type AnchorHTMLAttributes,
  type MouseEvent,
  type ReactNode,
  type Ref,
} from 'react';

const NAVIGATE = 'baton:navigate';

export interface Location {
  pathname: string;
  search: string;
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  window.addEventListener(NAVIGATE, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(NAVIGATE, onChange);
  };
}

// useSyncExternalStore needs a stable snapshot: the href string is one.
function snapshot(): string {
  return window.location.pathname + window.location.search;
}

export function useLocation(): Location {
  const href = useSyncExternalStore(subscribe, snapshot, snapshot);
  const q = href.indexOf('?');
  return q < 0 ? { pathname: href, search: '' } : { pathname: href.slice(0, q), search: href.slice(q) };
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === snapshot()) return;
  if (options.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.dispatchEvent(new Event(NAVIGATE));
}

/** Reads one query parameter; setting it replaces the history entry. */
export function useSearchParam(name: string): [string | null, (value: string | null) => void] {
  const { pathname, search } = useLocation();
  const value = new URLSearchParams(search).get(name);
  const set = useCallback(
    (next: string | null) => {
      const params = new URLSearchParams(window.location.search);
      if (next === null || next === '') params.delete(name);
      else params.set(name, next);
      const qs = params.toString();
      navigate(pathname + (qs ? `?${qs}` : ''), { replace: true });
    },
    [name, pathname],
  );
  return [value, set];
}

/** Matches `/workflows/:id` against a path; params are URI-decoded. */
export function matchPath(pattern: string, pathname: string): Record<string, string> | null {
  const p = pattern.split('/').filter(Boolean);
  const s = pathname.split('/').filter(Boolean);
  if (p.length !== s.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const want = p[i] ?? '';
    const got = s[i] ?? '';
    if (want.startsWith(':')) {
      try {
        params[want.slice(1)] = decodeURIComponent(got);
      } catch {
        return null;
      }
    } else if (want !== got) return null;
  }
  return params;
}

export interface Route {
  path: string;
  render: (params: Record<string, string>) => ReactNode;
}

const ParamsContext = createContext<Record<string, string>>({});

export function useParams(): Record<string, string> {
  return useContext(ParamsContext);
}

/** Renders the first route whose path matches, else `fallback`. */
export function Routes({ routes, fallback }: { routes: Route[]; fallback: ReactNode }) {
  const { pathname } = useLocation();
  for (const route of routes) {
    const params = matchPath(route.path, pathname);
    if (params) {
      return <ParamsContext.Provider value={params}>{route.render(params)}</ParamsContext.Provider>;
    }
  }
  return <>{fallback}</>;
}

function isPlainLeftClick(e: MouseEvent<HTMLAnchorElement>): boolean {
  return e.button === 0 && !e.metaKey && !e.ctrlKey && !e.shiftKey && !e.altKey && !e.defaultPrevented;
}

export type LinkProps = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> & {
  to: string;
  ref?: Ref<HTMLAnchorElement>;
};

/** An ordinary link (new tab, copy address all work) that navigates in-app. */
export function Link({ to, onClick, target, ...rest }: LinkProps) {
  return (
    <a
      {...rest}
      href={to}
      target={target}
      onClick={(e) => {
        onClick?.(e);
        if (isPlainLeftClick(e) && (target === undefined || target === '_self')) {
          e.preventDefault();
          navigate(to);
        }
      }}
    />
  );
}
