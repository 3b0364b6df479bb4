import type { ModeId } from './modes.js';

// Messages between the runner and the server process. The runner asks; the server answers each
// request with a message of the same type.

/** The server's counters at one moment; the runner subtracts two of them around a window. */
export interface Sample {
  /** process.cpuUsage() user + system, in microseconds. */
  cpuUs: number;
  /** HTTP requests received by all of the process's servers. */
  requests: number;
  /** Times the route handler ran (any mode). */
  originRuns: number;
  /** Requests received and not yet answered (or abandoned). */
  inFlight: number;
}

export type ToServer = { type: 'sample' } | { type: 'flush'; mode: ModeId };

export type FromServer =
  | { type: 'ready'; ports: Partial<Record<ModeId, number>> }
  | ({ type: 'sample' } & Sample)
  | { type: 'flush' };
