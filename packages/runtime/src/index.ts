export { LOG_LEVELS, QUEUE_PREFIX_PATTERN, baseEnvSchema, sharedSettings } from './base-env.ts';
export type { BaseEnv, LogLevel, SharedSettings } from './base-env.ts';
export {
  ConfigError,
  EXIT_INVALID_CONFIG,
  configOrExit,
  exitOnConfigError,
  loadTogether,
} from './config-error.ts';
export { DEFAULT_CRASH_DEADLINE_MS, EXIT_SOFTWARE, installCrashPolicy } from './crash-policy.ts';
export type { CrashLogger, CrashPolicy, CrashPolicyOptions, FaultOrigin } from './crash-policy.ts';
export { ENV_FILE, loadEnvFile } from './env-file.ts';
export { bytesText } from './format.ts';
export {
  HOUR_MS,
  duration,
  durationText,
  flag,
  oneOf,
  parseDuration,
  text,
  wholeNumber,
} from './env-fields.ts';
export type { DurationOptions, WholeNumberOptions } from './env-fields.ts';
export { logTransportFor } from './log-format.ts';
export type { LogOutput, LogTransport } from './log-format.ts';
export { loadEnv, readEnv } from './load-env.ts';
export type { Env, LoadEnvOptions } from './load-env.ts';
export {
  DEFAULT_RATE_HALF_LIFE_MS,
  MAX_FLAP_WINDOW_MS,
  MAX_RATE_HALF_LIFE_MS,
  MAX_RESIDENCE_MS,
  MIN_FLAP_WINDOW_MS,
  MIN_RATE_HALF_LIFE_MS,
  policyText,
  rateHalfLife,
  rateThresholds,
  TIERING_POLICIES,
  tieringOptions,
  viewRatePolicy,
} from './tiering-settings.ts';
export type { HysteresisSetting, TieringEnv, TieringPolicy } from './tiering-settings.ts';
export { loadSetupSettings, setupEnvSchema } from './setup-settings.ts';
export type { SetupSettings } from './setup-settings.ts';
