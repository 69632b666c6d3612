// Owns: who may call `kmed serve` — the bearer API key (checked when the server is built, compared
// in constant time per request) and, when there is no key, the Host / Origin allow-list that stops
// DNS rebinding: a page on evil.example whose name is made to resolve to 127.0.0.1 reaches the
// server with `Host: evil.example`, and is refused. Allowed by default: the loopback names and the
// address the server listens on; more with `--allowed-hosts`. A name starting with '.' allows its
// subdomains ('.example.org' allows a.example.org and example.org).
// Does not own the routes that are open to everyone (/health, in app.ts) or CORS (@fastify/cors).
import { createHash, timingSafeEqual } from 'node:crypto';
import { ServerOptionError } from './limits.js';

/** Names every server answers to when it has no API key. */
export const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '::1'] as const;

/**
 * Throws ServerOptionError (SERVER_BAD_OPTION) for a key no client could send: empty, with spaces
 * at either end (an Authorization header's value is trimmed, so they could never match), or with
 * characters outside printable ASCII (not portable in a header). `source` names where it came from.
 */
export function checkApiKey(key: string, source = 'the API key'): void {
  if (key === '') {
    throw new ServerOptionError('SERVER_BAD_OPTION', `${source} is empty: give a key, or leave it unset to serve without one`);
  }
  if (key.trim() !== key) {
    throw new ServerOptionError('SERVER_BAD_OPTION', `${source} starts or ends with whitespace, which an Authorization header cannot carry: remove it`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[^\x20-\x7e]/.test(key)) {
    throw new ServerOptionError('SERVER_BAD_OPTION', `${source} holds a character outside printable ASCII, which not every client can send in a header: use letters, digits and punctuation`);
  }
}

/** `Authorization: Bearer <key>` checker for `key` (already checked with checkApiKey). */
export function bearerCheck(key: string): (header: string | undefined) => boolean {
  const expected = sha256(key);
  return (header) => {
    const match = /^Bearer +(.+)$/i.exec(header ?? '');
    // Hashes have equal lengths, so timingSafeEqual never leaks the key's length either.
    return match !== null && timingSafeEqual(sha256(match[1].trim()), expected);
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The allow-list of host names: loopback, the listening address unless it is a wildcard, and
 *  `extra` (names, IP addresses, or '.domain' for a domain and its subdomains). */
export function allowedHosts(listenHost: string | undefined, extra: readonly string[] = []): string[] {
  const names = new Set<string>(LOOPBACK_HOSTS);
  const listen = listenHost === undefined ? undefined : normalizeHost(listenHost);
  if (listen && listen !== '0.0.0.0' && listen !== '::') names.add(listen);
  for (const name of extra) {
    const n = normalizeHost(name);
    if (n === '' || n === '.') throw new ServerOptionError('SERVER_BAD_OPTION', `allowed host '${name}' is empty`);
    if (/[\s/@?#]/.test(n)) throw new ServerOptionError('SERVER_BAD_OPTION', `allowed host '${name}' is not a host name or address (give names without scheme, port or path)`);
    names.add(n);
  }
  return [...names];
}

/** Checks a request's Host and Origin headers against `hosts` (from allowedHosts). */
export function hostCheck(hosts: readonly string[], corsOrigin?: string) {
  const exact = new Set(hosts.filter((h) => !h.startsWith('.')));
  const domains = hosts.filter((h) => h.startsWith('.'));
  const allowed = (name: string) => exact.has(name) || domains.some((d) => name.endsWith(d) || name === d.slice(1));
  return {
    /** True when the Host header (`name[:port]`) names an allowed host. */
    host(header: string | undefined): boolean {
      return header !== undefined && allowed(hostOfAuthority(header));
    },
    /** True when there is no Origin header, or it is the CORS origin, or its host is allowed. */
    origin(header: string | undefined): boolean {
      if (header === undefined) return true;
      if (corsOrigin !== undefined && header === corsOrigin) return true;
      try {
        const url = new URL(header);
        return (url.protocol === 'http:' || url.protocol === 'https:') && allowed(normalizeHost(url.hostname));
      } catch {
        return false; // 'null' (sandboxed pages, file:) and anything unparsable
      }
    },
  };
}

/** Lower case, no IPv6 brackets, no trailing dot (`LOCALHOST.` and `localhost` are one name). */
function normalizeHost(name: string): string {
  let n = name.trim().toLowerCase();
  if (n.startsWith('[') && n.endsWith(']')) n = n.slice(1, -1);
  if (n.endsWith('.') && n.length > 1) n = n.slice(0, -1);
  return n;
}

/** The host of a Host header's `host[:port]` (IPv6 in brackets). */
function hostOfAuthority(authority: string): string {
  const a = authority.trim();
  if (a.startsWith('[')) {
    const end = a.indexOf(']');
    return end < 0 ? '' : normalizeHost(a.slice(0, end + 1));
  }
  const colon = a.indexOf(':');
  return normalizeHost(colon < 0 ? a : a.slice(0, colon));
}
