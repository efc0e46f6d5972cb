import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter } from 'prom-client';
import type { DecidedView } from '../services/post-views.ts';
import { ViewLog } from '../services/view-log.ts';

/** What the view routes pass every decided report to (`app.viewReports`). */
export interface ViewReports {
  /**
   * Takes one decided report: counts a hysteresis hold and appends the report to the view log
   * (VIEW_LOG_FILE). Synchronous and never throws, as `PostViewsOptions.onDecided` requires.
   */
  readonly decided: (view: DecidedView) => void;
  /** Opens VIEW_LOG_FILE again (SIGHUP, after logrotate moved it); nothing when it is unset. */
  readonly reopenLog: () => void;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Where the view routes report what they decided. */
    viewReports: ViewReports;
  }
}

function viewReports(app: FastifyInstance, _options: unknown, done: () => void): void {
  const { policyHolds, registry } = app.metrics;
  const file = app.gateway.config.viewLogFile;
  const errors = new Counter({
    name: 'gateway_view_log_errors_total',
    help: 'Failures to open, write or close the view log (VIEW_LOG_FILE); its lines wait in memory meanwhile',
    registers: [registry],
  });
  const dropped = new Counter({
    name: 'gateway_view_log_dropped_total',
    help: 'View log lines dropped: the file could not be opened, or 16 MiB of lines were waiting for the disk',
    registers: [registry],
  });

  let warned = false;
  const log =
    file === null
      ? null
      : new ViewLog(file, {
          onError: (error) => {
            errors.inc();
            // Once per failure: a full disk would otherwise log at every post.
            if (warned) return;
            warned = true;
            app.log.warn(
              { err: error, file },
              'view log: cannot write to VIEW_LOG_FILE; posts go on, lines wait in memory (see gateway_view_log_errors_total)',
            );
          },
          onRecovered: () => {
            warned = false;
            app.log.info({ file }, 'view log: writing again');
          },
          onDrop: () => dropped.inc(),
        });

  app.decorate('viewReports', {
    decided: (view: DecidedView) => {
      if (view.heldBy !== null) policyHolds.inc({ rule: view.heldBy });
      log?.append(view);
    },
    reopenLog: () => log?.reopen(),
  });

  if (log !== null) {
    // Requests have finished by now: every accepted report is in the file once this resolves.
    app.addHook('onClose', async () => {
      await log.close();
    });
  }
  done();
}

/**
 * What happens to every view report the gateway acted on besides its decision: a count held by
 * the hysteresis band is counted in `gateway_policy_holds_total{rule="hysteresis"}`, and with
 * VIEW_LOG_FILE set the report is appended to that file (flushed and closed when the app closes).
 */
export const viewReportsPlugin = fp(viewReports, {
  name: 'gateway-view-reports',
  dependencies: ['gateway-infrastructure', 'gateway-metrics'],
});
