export { buildApp, DOCS_PATH } from './app.ts';
export type { GatewayApp, GatewayDeps } from './app.ts';
export {
  ConfigError,
  DEFAULT_BODY_LIMIT,
  DEFAULT_VIEWS_BATCH_MAX,
  LOG_LEVELS,
  loadConfig,
} from './config.ts';
export type { AdminCredentials, GatewayConfig, LogLevel } from './config.ts';
export { AppError, ERROR_STATUS } from './errors.ts';
export type { ErrorBody, ErrorCode } from './errors.ts';
export { BULL_BOARD_PATH } from './plugins/bull-board.ts';
export type { GatewayContext, InfrastructureDeps } from './plugins/infrastructure.ts';
export { CHECK_AGAIN } from './routes/legacy.routes.ts';
export { postViews } from './services/post-views.ts';
export type { PostViewsDeps, ViewOutcome, ViewReport } from './services/post-views.ts';
export { startGateway } from './start.ts';
export type { GatewayHandle, StartGatewayOptions } from './start.ts';
