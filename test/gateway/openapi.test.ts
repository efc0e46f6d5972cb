import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway, openServices, type Gateway, type Services } from './support.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The pinned Redocly CLI (devDependency), never a download at test time. */
const REDOCLY = path.join(ROOT, 'node_modules', '.bin', 'redocly');

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const;

/** The operations of an OpenAPI document, as `METHOD /path` and the operation object. */
type Operations = Array<[string, Record<string, unknown>]>;

interface Document {
  openapi: string;
  servers: Array<{ url: string }>;
  security: unknown[];
  tags: Array<{ name: string; description?: string }>;
  paths: Record<string, Partial<Record<(typeof METHODS)[number], Record<string, unknown>>>>;
  components: { schemas: Record<string, Record<string, unknown>>; securitySchemes: object };
}

function operationsOf(document: Document): Operations {
  return Object.entries(document.paths).flatMap(([url, item]) =>
    METHODS.flatMap((method) => {
      const operation = item[method];
      return operation === undefined ? [] : [[`${method.toUpperCase()} ${url}`, operation]];
    }),
  ) as Operations;
}

/** A Redocly lint problem, as `--format json` reports it. */
interface LintProblem {
  ruleId: string;
  severity: 'error' | 'warn';
  message: string;
  location: Array<{ pointer?: string }>;
}

/** Runs the pinned `redocly lint` with the repository's `redocly.yaml` on `document`. */
async function redoclyLint(document: unknown): Promise<LintProblem[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'reloc-openapi-'));
  try {
    const file = path.join(dir, 'openapi.json');
    await writeFile(file, JSON.stringify(document));
    const args = ['lint', file, '--config', path.join(ROOT, 'redocly.yaml'), '--format', 'json'];
    // Exit status 1 when there are errors; the report is on stdout either way.
    const stdout = await promisify(execFile)(REDOCLY, args, {
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      maxBuffer: 16 * 1024 * 1024,
    }).then(
      (result) => result.stdout,
      (error: { stdout?: string }) => {
        if (!error.stdout) throw error;
        return error.stdout;
      },
    );
    return (JSON.parse(stdout) as { problems: LintProblem[] }).problems;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const show = (problems: LintProblem[]) =>
  problems.map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? '?'}`).join('\n');

/** The warnings the document keeps, each for a reason (see the test that lints it). */
const KNOWN_WARNINGS = ['info-license', 'no-server-example.com', 'operation-4xx-response'];

const SECURED = [{ apiKeyBearer: [] }, { adminBasicAuth: [] }];

describe('the OpenAPI document at /docs/json', () => {
  let services: Services;
  let gw: Gateway;
  let document: Document;

  beforeAll(async () => {
    services = await openServices();
    gw = await buildGateway(services);
    const res = await gw.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    document = res.json<Document>();
  });
  afterAll(async () => {
    await gw?.app.close();
    await services?.close();
  });

  it('is OpenAPI 3.1, whose schemas are the JSON Schema 2020-12 that zod emits', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(JSON.stringify(document)).not.toContain('"nullable"');
  });

  it('names the gateway as its server: PUBLIC_URL, else http://localhost:<PORT>', async () => {
    expect(document.servers).toEqual([
      { url: 'http://localhost:3000', description: 'This gateway (PUBLIC_URL)' },
    ]);
    const behindProxy = await buildGateway(services, {
      PUBLIC_URL: 'https://relocation.example.net/api/',
    });
    try {
      const res = await behindProxy.app.inject({ method: 'GET', url: '/docs/json' });
      expect(res.json<Document>().servers).toEqual([
        { url: 'https://relocation.example.net/api', description: 'This gateway (PUBLIC_URL)' },
      ]);
    } finally {
      await behindProxy.app.close();
    }
  });

  it('gives every operation a unique camelCase operationId, a summary and one described tag', () => {
    const operations = operationsOf(document);
    expect(operations.length).toBeGreaterThanOrEqual(20);
    const ids = new Map<string, string>();
    for (const [name, operation] of operations) {
      const id = String(operation.operationId);
      expect(id, `${name} has no camelCase operationId`).toMatch(/^[a-z][a-zA-Z0-9]*$/);
      expect(ids.get(id), `${name} and ${ids.get(id)} share ${id}`).toBe(undefined);
      ids.set(id, name);
      expect(operation.summary, `${name} has no summary`).toEqual(expect.any(String));
      expect(operation.tags, name).toEqual([expect.any(String)]);
    }
    const described = new Map(document.tags.map((t) => [t.name, t.description]));
    for (const [name, operation] of operations) {
      const [tag] = operation.tags as string[];
      expect(described.get(tag as string), `${name}: tag ${tag} is not described`).toEqual(
        expect.any(String),
      );
    }
    expect(ids.get('postSentence')).toBe('POST /post_sentence');
    expect(ids.get('postViews')).toBe('POST /v1/views');
    expect(ids.get('getContent')).toBe('GET /v1/contents/{cid}');
    expect(ids.get('replaceLevels')).toBe('PUT /v1/levels');
  });

  it('declares no security on the public routes, an optional key on the legacy ones, and keys or the admin login on every other', () => {
    // The document's default is no security; the public operations keep it.
    expect(document.security).toEqual([]);
    const bySecurity = new Map<string, string[]>();
    for (const [name, operation] of operationsOf(document)) {
      const key = JSON.stringify(operation.security ?? document.security);
      bySecurity.set(key, [...(bySecurity.get(key) ?? []), name]);
    }
    expect(bySecurity.get('[]')).toEqual(['GET /healthz', 'GET /readyz']);
    expect(bySecurity.get(JSON.stringify([{}, { apiKeyBearer: [] }]))).toEqual([
      'POST /post_sentence',
      'POST /update_sentence',
    ]);
    expect([...bySecurity.keys()].sort()).toEqual(
      ['[]', JSON.stringify([{}, { apiKeyBearer: [] }]), JSON.stringify(SECURED)].sort(),
    );
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual([
      'adminBasicAuth',
      'apiKeyBearer',
    ]);
    const replaceLevels = document.paths['/v1/levels']?.put;
    expect(replaceLevels?.security).toEqual(SECURED);
    expect(Object.keys(replaceLevels?.responses as object)).toEqual(
      expect.arrayContaining(['401', '403']),
    );
  });

  it("shows the README's walk-through as the examples of the main operations", () => {
    const postSentence = document.paths['/post_sentence']?.post as {
      requestBody: { content: Record<string, { examples?: Record<string, { value: unknown }> }> };
      responses: Record<string, { content: Record<string, { schema: { $ref: string } }> }>;
    };
    for (const type of ['application/x-www-form-urlencoded', 'application/json']) {
      expect(postSentence.requestBody.content[type]?.examples?.walkThrough?.value, type).toEqual({
        cid: 7,
        count: 1964,
      });
    }
    const answer = postSentence.responses['200']?.content['application/json']?.schema.$ref;
    expect(answer).toBe('#/components/schemas/LegacyPostResult');
    expect(document.components.schemas.LegacyPostResult?.examples).toEqual([
      {
        cid: '7',
        count: '1964',
        target: 'silver',
        db_level: 'bronze',
        filename: 'g.mp4',
        worker_id: null,
        status: 'update',
      },
    ]);
    expect(document.components.schemas.Error?.examples).toEqual([
      expect.objectContaining({ statusCode: 404, code: 'CONTENT_NOT_FOUND' }),
    ]);
    const postViews = document.paths['/v1/views']?.post as {
      requestBody: { content: Record<string, { examples?: Record<string, unknown> }> };
      responses: Record<
        string,
        { content: Record<string, { examples?: Record<string, unknown> }> }
      >;
    };
    expect(Object.keys(postViews.requestBody.content['application/json']?.examples ?? {})).toEqual([
      'one',
      'batch',
    ]);
    expect(
      Object.keys(postViews.responses['200']?.content['application/json']?.examples ?? {}),
    ).toEqual(['one', 'batch']);
  });

  it('passes `redocly lint` (recommended rules and redocly.yaml) with no errors', async () => {
    const problems = await redoclyLint(document);
    const errors = problems.filter((p) => p.severity === 'error');
    expect(errors, show(errors)).toEqual([]);
    // The warnings left, each for a reason (see the README's OpenAPI section): no license is
    // declared; the default server is localhost; /healthz and /readyz have no 4xx answer.
    for (const problem of problems) {
      expect(KNOWN_WARNINGS, show([problem])).toContain(problem.ruleId);
    }
  });
});
