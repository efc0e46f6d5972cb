import { randomUUID } from 'node:crypto';
import formbody from '@fastify/formbody';
import swagger, { type SwaggerTransform, type SwaggerTransformObject } from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
} from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { AccessLogController } from './plugins/access-logs.ts';
import { SECURITY_SCHEMES, accessPlugin } from './plugins/access.ts';
import { bullBoardPlugin } from './plugins/bull-board.ts';
import { errorHandlerPlugin } from './plugins/error-handler.ts';
import { infrastructurePlugin, type InfrastructureDeps } from './plugins/infrastructure.ts';
import { metricsPlugin } from './plugins/metrics.ts';
import { batchRedisWrites } from './plugins/redis-write-batching.ts';
import { rateLimitsPlugin } from './plugins/rate-limits.ts';
import { securityHeadersPlugin } from './plugins/security-headers.ts';
import { viewReportsPlugin } from './plugins/view-reports.ts';
import { fastSerializerCompiler, fastValidatorCompiler } from './plugins/zod-compilers.ts';
import { adminPageRoutes } from './routes/admin-page.routes.ts';
import { auditRoutes } from './routes/audit.routes.ts';
import { contentAdminRoutes } from './routes/content-admin.routes.ts';
import { contentsRoutes } from './routes/contents.routes.ts';
import { healthRoutes } from './routes/health.routes.ts';
import { legacyRoutes } from './routes/legacy.routes.ts';
import { levelsRoutes } from './routes/levels.routes.ts';
import { pinsRoutes } from './routes/pins.routes.ts';
import { planRoutes } from './routes/plan.routes.ts';
import { relocationsRoutes } from './routes/relocations.routes.ts';
import { statsRoutes } from './routes/stats.routes.ts';
import { viewsRoutes } from './routes/views.routes.ts';
import { fastifyTrustProxy } from './services/networks.ts';

/** What {@link buildApp} needs: the connections, and how to log. */
export interface GatewayDeps extends InfrastructureDeps {
  /**
   * A pino logger to use, pino options, or `false` for no logs. Defaults to JSON logs at
   * the configured LOG_LEVEL.
   */
  logger?: FastifyBaseLogger | FastifyServerOptions['logger'];
}

/** The gateway's Fastify instance. */
export type GatewayApp = FastifyInstance;

/** Where the OpenAPI UI is served (the JSON document is at `${DOCS_PATH}/json`). */
export const DOCS_PATH = '/docs';

/** The OpenAPI tags the routes are grouped by (each route names its tags), with what each holds. */
const OPENAPI_TAGS = [
  {
    name: 'legacy',
    description:
      'The 2018 endpoints, wire-compatible with the old players: form or JSON bodies, answers with string values.',
  },
  { name: 'views', description: 'View counts, one report or a batch (JSON).' },
  {
    name: 'contents',
    description: 'Register contents; read a content, its relocation state and its history.',
  },
  {
    name: 'levels',
    description: 'The tier table: read it, or replace it atomically (operators).',
  },
  {
    name: 'admin',
    description:
      'Operator commands and read-outs: set a level, requeue, pins, pending moves, the audit log, pausing relocations, the dry-run plan.',
  },
  { name: 'operations', description: 'Liveness, readiness and Prometheus metrics.' },
] as const;

/**
 * The OpenAPI `operationId` of every documented route, by `METHOD url` as the route is declared.
 * One table, so the names stay one vocabulary (clients generated from the document call these)
 * and routes that plugins declare (`/metrics`) are covered too; `test/gateway/openapi.test.ts`
 * fails for a documented route without one.
 */
const OPERATION_IDS: Readonly<Record<string, string>> = {
  'GET /healthz': 'getHealth',
  'GET /readyz': 'getReadiness',
  'GET /metrics': 'getMetrics',
  'POST /post_sentence': 'postSentence',
  'POST /update_sentence': 'updateSentence',
  'POST /v1/views': 'postViews',
  'POST /v1/contents': 'registerContent',
  'GET /v1/contents': 'listContents',
  'GET /v1/contents/:cid': 'getContent',
  'GET /v1/contents/:cid/history': 'getContentHistory',
  'PUT /v1/contents/:cid/level': 'setContentLevel',
  'POST /v1/contents/:cid/requeue': 'requeueContent',
  'DELETE /v1/contents/:cid/pending-move': 'clearPendingMove',
  'PUT /v1/contents/:cid/pin': 'pinContent',
  'DELETE /v1/contents/:cid/pin': 'unpinContent',
  'GET /v1/levels': 'listLevels',
  'PUT /v1/levels': 'replaceLevels',
  'GET /v1/audit': 'listAuditEntries',
  'GET /v1/relocations': 'getRelocations',
  'POST /v1/relocations/pause': 'pauseRelocations',
  'POST /v1/relocations/resume': 'resumeRelocations',
  'GET /v1/plan': 'getPlan',
  'POST /v1/plan': 'planLevels',
  'GET /v1/stats': 'getStats',
};

/** The zod transform, plus each route's `operationId` from {@link OPERATION_IDS}. */
const documentRoute: SwaggerTransform = (input) => {
  const transformed = jsonSchemaTransform(input);
  const operationId = OPERATION_IDS[`${String(input.route.method)} ${input.url}`];
  if (operationId === undefined) return transformed;
  return { ...transformed, schema: { ...transformed.schema, operationId } };
};

const SCHEMA_REF = '#/components/schemas/';

/**
 * The zod components, less those nothing refers to (the zod transform emits an input and an
 * output variant of every named schema, `ContentInput` and `Content`, and most are used one way)
 * and less their `$id` and `$schema`.
 */
const documentObject: SwaggerTransformObject = (input) => {
  const document = jsonSchemaTransformObject(input);
  if (!('components' in document)) return document; // OpenAPI 2: not ours
  const schemas: Record<string, unknown> = { ...document.components?.schemas };
  const used = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        if (key === '$ref' && typeof item === 'string' && item.startsWith(SCHEMA_REF)) {
          const name = item.slice(SCHEMA_REF.length);
          if (!used.has(name)) {
            used.add(name);
            visit(schemas[name]);
          }
        } else {
          visit(item);
        }
      }
    }
  };
  visit({ ...document, components: { ...document.components, schemas: {} } });
  const kept = Object.fromEntries(
    Object.entries(schemas)
      .filter(([name]) => used.has(name))
      // zod names each component `$id: "#/components/schemas/<name>"`, which JSON Schema forbids
      // (a fragment) and which makes validators resolve the component's own `$ref`s against it;
      // `$schema` repeats the 3.1 default dialect.
      .map(([name, schema]) => {
        const rest = { ...(schema as Record<string, unknown>) };
        delete rest.$id;
        delete rest.$schema;
        return [name, rest];
      }),
  );
  // The same document, with fewer entries in `components.schemas`.
  return { ...document, components: { ...document.components, schemas: kept } } as typeof document;
};

function isLoggerInstance(logger: GatewayDeps['logger']): logger is FastifyBaseLogger {
  return (
    typeof logger === 'object' &&
    logger !== null &&
    typeof (logger as Partial<FastifyBaseLogger>).child === 'function' &&
    typeof (logger as Partial<FastifyBaseLogger>).info === 'function'
  );
}

/**
 * Builds the gateway's Fastify instance without listening (tests use `app.inject()`).
 *
 * Routes: the legacy `/post_sentence` and `/update_sentence`, the v1 API, `/healthz`,
 * `/readyz`, `/metrics`, OpenAPI at `/docs`, and Bull Board at `/admin/queues`. When the app
 * becomes ready it loads the level table from MySQL, checks it and publishes it (an invalid
 * table makes `ready()` / `listen()` reject); `app.close()` closes the queue, Redis and the pool
 * unless `closeConnections` is false.
 */
export async function buildApp(deps: GatewayDeps): Promise<GatewayApp> {
  const { config } = deps;
  const logger = deps.logger ?? { level: config.logLevel };
  const options: FastifyServerOptions = {
    bodyLimit: config.bodyLimit,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    // View reports log their access lines at debug (two lines per report at info otherwise).
    logController: new AccessLogController(),
    trustProxy: fastifyTrustProxy(config.trustProxy),
  };
  const app: FastifyInstance = isLoggerInstance(logger)
    ? Fastify({ ...options, loggerInstance: logger })
    : Fastify({ ...options, logger });
  // zod's, with the hand-written fast paths of the view routes' common bodies and answers.
  app.setValidatorCompiler(fastValidatorCompiler);
  app.setSerializerCompiler(fastSerializerCompiler);
  // Every answer carries its request id, which every log line of the request names too.
  // (Callback-style hooks: no promise per request on the hot path.)
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });

  // Bodies are JSON or forms (old players post `cid=7&count=1964`); anything else is 415.
  app.removeContentTypeParser('text/plain');
  await app.register(formbody);

  // One write (and one read) per event-loop turn for all the turn's Redis commands.
  batchRedisWrites(deps.redis);
  await app.register(infrastructurePlugin, deps);
  // Before any route: every route gets its access level (and its OpenAPI security) as declared.
  await app.register(accessPlugin, { publicPaths: [DOCS_PATH] });
  // OpenAPI 3.1: its schemas are JSON Schema 2020-12, which is what zod emits (`type: "null"`,
  // `const`); 3.0 would need them rewritten.
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Content relocation gateway',
        description:
          'Players report view counts; the gateway queues relocations of content files between storage tiers. Errors are `{statusCode, code, error, message}`.',
        version: '1.0.0',
      },
      servers: [{ url: config.publicUrl, description: 'This gateway (PUBLIC_URL)' }],
      // Nothing by default: the public routes need no credentials, and every other route
      // declares the schemes it accepts (see the access plugin).
      security: [],
      tags: [...OPENAPI_TAGS],
      components: {
        securitySchemes: SECURITY_SCHEMES,
      },
    },
    transform: documentRoute,
    transformObject: documentObject,
  });
  // The OpenAPI page in a context of its own: its security headers stay off the JSON API, and off
  // the document itself, which tools download.
  await app.register(async (docs) => {
    await docs.register(securityHeadersPlugin, {
      except: [`${DOCS_PATH}/json`, `${DOCS_PATH}/yaml`],
    });
    await docs.register(swaggerUi, { routePrefix: DOCS_PATH });
  });
  await app.register(metricsPlugin);
  await app.register(viewReportsPlugin);
  await app.register(errorHandlerPlugin);
  // Before the routes: it attaches the limits to the write routes as they are declared.
  await app.register(rateLimitsPlugin);

  const routes = app.withTypeProvider<ZodTypeProvider>();
  await routes.register(healthRoutes);
  await routes.register(legacyRoutes);
  await routes.register(viewsRoutes);
  await routes.register(contentsRoutes);
  await routes.register(contentAdminRoutes);
  await routes.register(pinsRoutes);
  await routes.register(levelsRoutes);
  await routes.register(auditRoutes);
  await routes.register(relocationsRoutes);
  await routes.register(planRoutes);
  await routes.register(statsRoutes);
  await app.register(bullBoardPlugin);
  await app.register(adminPageRoutes, { docsPath: DOCS_PATH });
  return app;
}
