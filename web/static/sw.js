// gatehouse portal service worker. It caches ONLY the static shell listed in
// SHELL, written once at install; it never writes anything else to a cache
// (there is no cache.put here, and web/web_test.go checks that). Requests
// under /v1/ and /.well-known/, requests with any other method than GET, and
// requests to other origins are not handled at all: they go to the network
// as if there were no service worker. Shell pages are network-first, so the
// cache serves only when offline, and a shell URL's query (e.g. the
// magic-link token) never becomes a cache key.
'use strict';

// The server replaces the version with a hash of the shell's files, so a
// new build installs a new cache and removes the old one.
const CACHE = 'gatehouse-shell-__SHELL_VERSION__';

const SHELL = [
  '/',
  '/magic-link',
  '/verify-email',
  '/reset-password',
  '/confirm-email',
  '/invitation',
  '/app.js',
  '/page-links.js',
  '/page-account.js',
  '/page-security.js',
  '/page-workspaces.js',
  '/page-admin.js',
  '/signin-providers.js',
  '/page-identities.js',
  '/page-signon.js',
  '/qrcode.js',
  '/signin-mfa.js',
  '/page-factors.js',
  '/page-apps.js',
  '/app.css',
  '/manifest.webmanifest',
  '/icon.svg',
  '/icon-192.png',
  '/icon-512.png',
];

const NETWORK_ONLY = ['/v1/', '/.well-known/'];

// isShell reports whether a request may be answered from the shell cache.
function isShell(request) {
  if (request.method !== 'GET') return false;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return false;
  if (NETWORK_ONLY.some((p) => url.pathname.startsWith(p))) return false;
  return SHELL.includes(url.pathname);
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((p) => new Request(p, { cache: 'no-cache', credentials: 'omit' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  if (!isShell(event.request)) return; // network only: not even respondWith
  const path = new URL(event.request.url).pathname;
  event.respondWith(
    fetch(event.request).catch(() =>
      caches.open(CACHE)
        .then((cache) => cache.match(path))
        .then((hit) => hit || Response.error()),
    ),
  );
});
