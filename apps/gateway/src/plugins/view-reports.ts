import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { DecidedView } from '../services/post-views.ts';

/** What the view routes pass every decided report to (`app.viewReports`). */
export interface ViewReports {
  /**
   * Takes one decided report: counts a hysteresis hold. Synchronous and never throws, as
   * `PostViewsOptions.onDecided` requires.
   */
  readonly decided: (view: DecidedView) => void;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Where the view routes report what they decided. */
    viewReports: ViewReports;
  }
}

function viewReports(app: FastifyInstance, _options: unknown, done: () => void): void {
  const { policyHolds } = app.metrics;
  app.decorate('viewReports', {
    decided: (view: DecidedView) => {
      if (view.heldBy !== null) policyHolds.inc({ rule: view.heldBy });
    },
  });
  done();
}

/**
 * What happens to every view report the gateway acted on besides its decision: a count held by
 * the hysteresis band is counted in `gateway_policy_holds_total{rule="hysteresis"}`.
 */
export const viewReportsPlugin = fp(viewReports, {
  name: 'gateway-view-reports',
  dependencies: ['gateway-infrastructure', 'gateway-metrics'],
});
