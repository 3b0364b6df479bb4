import type { Response } from 'express';

type Write = Response['write'];
type End = Response['end'];

/**
 * Holds the first `write`/`end` of a response until `before` (run at that moment, when the status
 * is final) has settled, so work like an invalidation completes before the client hears back. If
 * `before` rejects, what was held is dropped and the error goes to `fail` (Express's error path:
 * the client gets the app's error response instead).
 */
export function holdResponse(
  res: Response,
  before: () => Promise<void> | undefined,
  fail: (err: unknown) => void,
): void {
  const write = res.write as Write;
  const end = res.end as End;
  const queued: [(...a: unknown[]) => unknown, unknown[]][] = [];
  let held: Promise<void> | undefined;
  const restore = (): void => {
    res.write = write;
    res.end = end;
  };
  const intercept = (original: (...a: unknown[]) => unknown, reply: (r: Response) => unknown) =>
    function (this: Response, ...args: unknown[]) {
      if (!held) {
        held = before();
        if (!held) {
          restore();
          return original.apply(this, args);
        }
        held.then(
          () => {
            restore();
            for (const [fn, fnArgs] of queued) fn.apply(res, fnArgs);
          },
          (err: unknown) => {
            restore();
            fail(err);
          },
        );
      }
      queued.push([original, args]);
      return reply(this);
    };
  res.write = intercept(write as (...a: unknown[]) => unknown, () => true) as Write;
  res.end = intercept(end as (...a: unknown[]) => unknown, (r) => r) as End;
}
