import type { Server } from 'node:http';

// What an example server needs around its app: a port from the environment, a listen that says
// what to do when the port is taken, and a Ctrl-C that closes everything and exits 0 (so that
// `pnpm example` ends without an ELIFECYCLE error).

/** An integer environment variable, or `fallback` when unset; exits with a message when bad. */
export function intFromEnv(name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    console.error(`${name} must be an integer from 0 to ${max}, got '${raw}'`);
    process.exit(1);
  }
  return value;
}

/** Starts listening; rejects with a message that says how to pick another port. */
export function listen(server: Server, port: number, command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException): void => {
      const message =
        err.code === 'EADDRINUSE'
          ? `port ${port} is already in use (another example still running?); ` +
            `choose another one: PORT=${port + 10} ${command}`
          : `cannot listen on port ${port}: ${err.message}`;
      reject(new Error(message));
    };
    server.once('error', failed);
    server.listen(port, () => {
      server.off('error', failed);
      resolve();
    });
  });
}

/** Stops accepting connections; resolves once those open are done. */
export async function stopServer(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // A request in flight gets a moment to finish; a client holding its socket does not hold us.
  const cut = setTimeout(() => server.closeAllConnections(), 2000);
  await closed;
  clearTimeout(cut);
}

/**
 * Calls `close` on the first SIGINT or SIGTERM, then exits 0. Later signals are ignored rather
 * than fatal: tsx passes the terminal's Ctrl-C on to the process again, and dying of that second
 * SIGINT mid-close is what pnpm reports as a failed command.
 */
export function closeOnSignals(close: () => Promise<void>): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    console.log(`\n${signal}: closing`);
    // An unreachable Redis or a stuck socket must not keep a stopped example running.
    setTimeout(() => {
      console.error('still closing after 5 s: exiting anyway');
      process.exit(0);
    }, 5000).unref();
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('closing failed:', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Prints why the example cannot start, closes what it opened and exits 1. */
export async function failStart(err: unknown, close: () => Promise<void>): Promise<never> {
  console.error(err instanceof Error ? err.message : err);
  await close().catch(() => undefined);
  process.exit(1);
}
