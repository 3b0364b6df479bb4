// Runs the public HTTP cache test suite (http-tests/cache-tests, the one cache-tests.fyi reports)
// against restash, the way its authors run any cache: its origin server behind the cache. Usage:
//   node test/rfc/run-cache-tests.mjs [default|headers]
// Prints { results, kinds } as JSON: each test's outcome, and each test's kind.
import { createRequire } from 'node:module';
import http from 'node:http';
import { URL } from 'node:url';
import express from 'express5';
import handleConfig from 'http-cache-tests/server/handle-config.mjs';
import handleFile from 'http-cache-tests/server/handle-file.mjs';
import handleState from 'http-cache-tests/server/handle-state.mjs';
import handleTest from 'http-cache-tests/server/handle-test.mjs';
import { runTests, getResults } from 'http-cache-tests/client/runner.mjs';
import tests from 'http-cache-tests/tests/index.mjs';
import surrogate from 'http-cache-tests/tests/surrogate-control.mjs';
import { determineTestResult } from 'http-cache-tests/lib/display.mjs';
import { createCache, MemoryCacheStore } from '../../packages/express/dist/index.js';

const mode = process.argv[2] ?? 'default';
// The suite's own client, node-fetch 2, as its CLI uses it.
const fetch = createRequire(
  createRequire(import.meta.url).resolve('http-cache-tests/package.json'),
)('node-fetch');

const cache = createCache({
  store: new MemoryCacheStore(),
  onError: () => {},
  ...(mode === 'headers' ? { freshness: 'headers' } : {}),
});
const app = express();
// As the suite's authors ran restash: a long route ttl, shared, the statuses RFC 9111 lets a
// cache store. In header mode the ttl would be the heuristic for responses without freshness:
// left out there, so only what the responses say counts.
// In header mode every final status may be stored when its headers give it freshness.
const statuses = [200, 203, 204, 300, 301, 308, 404, 410];
const any = Array.from({ length: 400 }, (_, i) => 200 + i).filter((s) => s !== 206 && s !== 304);
app.use(
  '/test',
  cache.route(
    mode === 'headers' ? { shared: true, statuses: any } : { ttl: 3600, shared: true, statuses },
  ),
);
app.use((request, response) => {
  const url = new URL(request.originalUrl, 'http://localhost/');
  const segments = url.pathname.split('/').slice(1);
  const dispatch = segments.shift();
  if (dispatch === 'config') handleConfig(segments, request, response);
  else if (dispatch === 'test') handleTest(segments, request, response);
  else if (dispatch === 'state') handleState(segments, request, response);
  else handleFile(url, request, response);
});
const server = http.createServer(app);
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

tests.push(surrogate); // as the suite's CLI does
await runTests(tests, fetch, false, base);
// Each test as cache-tests.fyi shows it: its kind, and its outcome with dependencies honoured
// (a test whose prerequisite check fails is not counted against the cache).
const results = getResults();
const outcomes = {};
const OUTCOMES = {
  '✅': 'pass',
  '⛔️': 'fail',
  '⚠️': 'optional-fail',
  Y: 'yes',
  N: 'no',
  '🔹': 'setup-fail',
  '⁉️': 'harness-fail',
  '⚪️': 'dependency-fail',
  '-': 'untested',
  '↻': 'retry',
};
for (const suite of tests) {
  for (const test of suite.tests) {
    if (test.browser_only) continue;
    const [, , symbol] = determineTestResult(tests, test.id, results);
    outcomes[test.id] = {
      kind: test.kind ?? 'required',
      outcome: OUTCOMES[symbol],
      detail: results[test.id],
    };
  }
}
process.stdout.write(JSON.stringify(outcomes));
server.closeAllConnections();
server.close();
await cache.close();
