import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

/** Kills any redis-server a crashed worker left behind. */
export default async function globalTeardown(): Promise<void> {
  const dir = process.env.RESTASH_TEST_RUN_DIR;
  if (!dir) return;
  for (const file of readdirSync(dir)) {
    const pid = Number(readFileSync(path.join(dir, file), 'utf8'));
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
