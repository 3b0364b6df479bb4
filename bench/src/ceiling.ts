// The ceiling: the cheapest a cache hit can be in a framework. Its route middleware answers from
// bytes and headers computed before the run: no lookup, no copy, nothing but the framework's own
// path to the socket. So that it sends what a hit sends, its answers are copied from restash hits
// when the server starts (status, headers, body), and the ratio ceiling ÷ restash isolates what
// the cache itself costs per hit.

/** A precomputed response. */
export interface Answer {
  status: number;
  headers: [name: string, value: string][];
  body: Buffer;
}

/** Answers by size id, filled before the first measured request. */
export type Answers = Map<string, Answer>;

/**
 * Left to Node and the framework in both the hit and the ceiling: per-connection headers, the
 * Date Node adds, and the X-Powered-By Express sets before any route runs.
 */
const LEFT_OUT = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'x-powered-by']);

/** Requests `url` until restash answers it from cache, and returns that hit as an {@link Answer}. */
export async function copyHit(url: string): Promise<Answer> {
  for (let attempt = 1; attempt <= 10; attempt++) {
    const res = await fetch(url);
    const body = Buffer.from(await res.arrayBuffer());
    if (res.headers.get('x-cache') !== 'HIT') continue;
    const headers: [string, string][] = [];
    res.headers.forEach((value, name) => {
      if (!LEFT_OUT.has(name)) headers.push([name, value]);
    });
    return { status: res.status, headers, body };
  }
  throw new Error(`${url} never answered X-Cache: HIT`);
}
