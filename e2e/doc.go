// Package e2e holds tests that drive gatehouse from outside: a real headless
// Chromium (Debian's chromium, through chromedp) against the real HTTP
// server. It has no code of its own.
package e2e
