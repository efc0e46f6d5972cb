import { userInfo } from 'node:os';

/**
 * Who runs a one-shot command, as history rows and the audit log record it: `cli:<login>` (the
 * operating-system user), or `cli` when the system cannot say.
 */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}
