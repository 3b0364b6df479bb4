import type { Redis } from 'ioredis';

// What Redis did during a window, and which of it were round trips. INFO commandstats counts every
// command, those a Lua script ran included (under their own names, their time also inside the
// EVALSHA's). A short MONITOR session per measured case (a "calibration", never during a
// measured window: MONITOR slows Redis down) tells which commands were sent by clients and which
// ran inside scripts (source "lua"); commandstats of the windows are then counted for top-level
// commands only, so that nothing is counted twice.

/** Calls and microseconds per command (commandstats names: `evalsha`, `client|trackinginfo`). */
export interface RedisWindow {
  calls: Record<string, number>;
  usec: Record<string, number>;
  /** Redis's own CPU time (INFO cpu, user + system) over the window, in microseconds. */
  processUs: number;
}

/** Per command, how many calls came from clients (`top`) and from scripts (`lua`). */
export interface Calibration {
  /** Requests (or store operations) made while MONITOR watched. */
  operations: number;
  top: Record<string, number>;
  lua: Record<string, number>;
}

/** The top-level share of a window: round trips and the command time they cost Redis. */
export interface RedisCost {
  roundTrips: number;
  commandUs: number;
  processUs: number;
}

/** Commands the runner itself sends around a window. */
const OWN = /^(info|config\|.*|echo|monitor)$/;

/** Resets commandstats and returns Redis's CPU time so far, to start a window with. */
export async function openWindow(admin: Redis): Promise<number> {
  await admin.config('RESETSTAT');
  return cpuUs(await admin.info('cpu'));
}

/** What Redis did since {@link openWindow} returned `startCpuUs`. */
export async function closeWindow(admin: Redis, startCpuUs: number): Promise<RedisWindow> {
  const info = (await admin.call('INFO', 'commandstats', 'cpu')) as string;
  const calls: Record<string, number> = {};
  const usec: Record<string, number> = {};
  for (const [, name, n, us] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    if (OWN.test(name!)) continue;
    calls[name!] = Number(n);
    usec[name!] = Number(us);
  }
  return { calls, usec, processUs: cpuUs(info) - startCpuUs };
}

function cpuUs(info: string): number {
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1]);
  return Math.round((field('used_cpu_user') + field('used_cpu_sys')) * 1e6);
}

/** Commands whose first argument names a subcommand (commandstats lists `client|setname`). */
const CONTAINERS = new Set([
  'acl',
  'client',
  'cluster',
  'command',
  'config',
  'function',
  'latency',
  'memory',
  'module',
  'object',
  'pubsub',
  'script',
  'slowlog',
  'xgroup',
  'xinfo',
]);

/** The commandstats name of a command as MONITOR shows it. */
function statName(args: readonly string[]): string {
  const command = (args[0] ?? '').toLowerCase();
  return CONTAINERS.has(command) && args[1] ? `${command}|${args[1].toLowerCase()}` : command;
}

/**
 * Runs `work` (which returns how many operations it made) under MONITOR and counts the commands
 * Redis executed, by whether a client or a script sent them.
 */
export async function calibrate(admin: Redis, work: () => Promise<number>): Promise<Calibration> {
  const monitor = await admin.monitor();
  const top: Record<string, number> = {};
  const lua: Record<string, number> = {};
  const marker = `calibration-end-${Math.random()}`;
  let ended: () => void = () => undefined;
  const end = new Promise<void>((resolve) => (ended = resolve));
  let open = true;
  // Lines still arriving while the connection closes confuse ioredis ("command queue state"):
  // nothing read after the marker matters.
  let failure: unknown;
  monitor.on('error', (err: unknown) => {
    if (!open) return;
    open = false;
    failure = err;
    ended();
  });
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    // MONITOR keeps streaming until the server notices the disconnect: what follows the marker
    // is the next case's.
    if (!open) return;
    if (args[0]?.toLowerCase() === 'echo' && args[1] === marker) {
      open = false;
      return ended();
    }
    const name = statName(args);
    if (OWN.test(name)) return;
    const counts = source === 'lua' ? lua : top;
    counts[name] = (counts[name] ?? 0) + 1;
  });
  try {
    const operations = await work();
    // MONITOR streams what ran in order: once the marker shows, everything before it has too.
    await admin.echo(marker);
    await end;
    if (failure) throw failure;
    return { operations, top, lua };
  } finally {
    monitor.disconnect();
  }
}

/**
 * The share of each command's calls that came from clients, as calibrated; a command the
 * calibration never saw (a health check that happened not to run then) counts as top-level.
 */
function topShare(name: string, calibration: Calibration): number {
  const top = calibration.top[name] ?? 0;
  const lua = calibration.lua[name] ?? 0;
  return top + lua === 0 ? 1 : top / (top + lua);
}

/** The window's round trips and Redis time, top-level commands only. */
export function redisCost(window: RedisWindow, calibration: Calibration): RedisCost {
  let roundTrips = 0;
  let commandUs = 0;
  for (const [name, calls] of Object.entries(window.calls)) {
    const share = topShare(name, calibration);
    roundTrips += calls * share;
    commandUs += (window.usec[name] ?? 0) * share;
  }
  return { roundTrips, commandUs, processUs: window.processUs };
}
