import { IncomingMessage, ServerResponse, type IncomingHttpHeaders, type Server } from 'node:http';
import { Socket } from 'node:net';

// Stale-while-revalidate without a waiting client: the request that finds an entry stale is
// answered from it at once, and a copy of it goes through the app in the background, from the
// top (the server's own request listener, so mounts, routers and upstream middleware all apply),
// with a response that nobody reads. The copy's lookup runs the handler and stores what it
// answers, as any miss does: under a lease, once per key across instances.

/**
 * Request headers the copy goes without: its response must be the whole resource, not an answer
 * to the client's validators or range.
 */
const DROPPED_HEADERS = [
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
  'range',
];

/** The copies in flight: only these refresh instead of answering stale (it cannot be forged). */
const COPIES = new WeakSet<IncomingMessage>();

/** Whether `req` is a background copy made by {@link refreshInBackground}. */
export function isRefreshCopy(req: IncomingMessage | undefined): boolean {
  return req !== undefined && COPIES.has(req);
}

/**
 * Dispatches a copy of `req` (a GET of `url`, its headers but validators and range) to the
 * server's request listener, with a response that is never sent: Node keeps what an unconnected
 * response writes. Calls `done` once the copy's response ended (or after `timeoutMs`, if the
 * handler never answers). Returns `false`, calling nothing, when `req` came from no server (a
 * request built by hand, a test double): then the caller refreshes the old way.
 */
export function refreshInBackground(
  req: IncomingMessage,
  url: string,
  done: () => void,
  timeoutMs: number,
): boolean {
  const server = (req.socket as (Socket & { server?: Server }) | null)?.server;
  const listener = server?.listeners('request')[0] as
    ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  if (!listener) return false;
  const headers: IncomingHttpHeaders = { ...req.headers };
  for (const name of DROPPED_HEADERS) Reflect.deleteProperty(headers, name);
  const copy = new IncomingMessage(socketLike(req.socket));
  copy.method = 'GET';
  copy.url = url;
  copy.headers = headers;
  copy.httpVersion = '1.1';
  copy.httpVersionMajor = 1;
  copy.httpVersionMinor = 1;
  copy.push(null);
  COPIES.add(copy);
  const res = new ServerResponse(copy);
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    done();
  };
  const timer = setTimeout(finish, timeoutMs).unref();
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.end = function (...args: unknown[]) {
    try {
      return end(...args);
    } finally {
      finish();
    }
  } as ServerResponse['end'];
  // Off the client's request: its answer goes out first.
  setImmediate(() => {
    try {
      listener.call(server, copy, res);
    } catch {
      // The app threw synchronously: as when it answers an error, nothing is stored.
      finish();
    }
  });
  return true;
}

/**
 * An unconnected socket that reads as the client's: the copy comes from the client that caused
 * it, over the same kind of connection, so what the app derives from those (an IP for rate limits
 * and logs, `req.protocol` / `req.secure` for the links it renders) is what it was.
 */
function socketLike(original: Socket | null): Socket {
  const socket = new Socket();
  Object.defineProperties(socket, {
    remoteAddress: { value: original?.remoteAddress },
    remotePort: { value: original?.remotePort },
    remoteFamily: { value: original?.remoteFamily },
    encrypted: { value: (original as { encrypted?: boolean } | null)?.encrypted },
  });
  return socket;
}
