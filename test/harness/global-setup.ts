import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A directory where workers record the redis-server pids they spawn (see processes.ts). */
export default async function globalSetup(): Promise<void> {
  process.env.RESTASH_TEST_RUN_DIR = mkdtempSync(path.join(os.tmpdir(), 'restash-test-run-'));
}
