export { DEFAULT_CRASH_DEADLINE_MS, EXIT_SOFTWARE, installCrashPolicy } from './crash-policy.ts';
export type { CrashLogger, CrashPolicy, CrashPolicyOptions, FaultOrigin } from './crash-policy.ts';
