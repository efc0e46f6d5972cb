import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tierFilePath } from '@relocation/contract';
import fc from 'fast-check';
import { RelocationError, moveFile, resolveInTier } from '@relocation/relocator';
import { validateLevels } from '@relocation/tiering';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildGateway,
  json,
  openServices,
  type Gateway,
  type Services,
} from '../gateway/support.ts';
import { createScratch, type Scratch } from '../relocator/support.ts';

/** Fragments that have broken one app or the other at some point, mixed into generated names. */
const TRICKY = [
  '.',
  '..',
  '/',
  '\\',
  ' ',
  '\t',
  '\u0000',
  '\u007f',
  '\u0085',
  '\u202E',
  '\u200B',
  '\uFEFF',
  '\uD800',
  '.relocating-',
  '.relocation-tier',
  'é',
  '영상',
  'a',
  '.mp4',
  '-',
];

const names = fc.oneof(
  fc
    .array(fc.constantFrom(...TRICKY), { minLength: 1, maxLength: 6 })
    .map((parts) => parts.join('')),
  fc.string({ unit: 'binary', minLength: 0, maxLength: 24 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 }),
);

/**
 * Invariant I8: a name or path the gateway accepts is exactly one the relocator can move. The
 * gateway is the real one (POST /v1/contents against MySQL); the relocator side is the real move
 * of a real file between two file systems.
 */
describe('the gateway and the relocator agree', () => {
  let services: Services;
  let gw: Gateway;
  let scratch: Scratch;
  let cid = 50_000;

  beforeAll(async () => {
    services = await openServices();
    gw = await buildGateway(services);
    scratch = await createScratch();
  });
  afterAll(async () => {
    await gw?.app.close();
    await services?.close();
    await scratch?.cleanup();
  });

  it('on file names: accepted by POST /v1/contents exactly when a move of that file succeeds', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(names, async (name) => {
        cid += 1;
        const res = await gw.app.inject(json('/v1/contents', { cid, filename: name }));
        // 409 FILENAME_EXISTS: the name passed the rule, another content already has it.
        const gatewayAccepts = res.statusCode === 201 || res.statusCode === 409;
        expect([201, 400, 409], res.body).toContain(res.statusCode);
        const from = path.join(scratch.disk, `from-${cid}`);
        const to = path.join(scratch.shm, `to-${cid}`);
        await mkdir(from, { recursive: true });
        await mkdir(to, { recursive: true });
        try {
          let relocatorMoves: boolean;
          try {
            resolveInTier(from, name);
            await writeFile(path.join(from, name), 'bytes');
            await moveFile({ sourceDir: from, destDir: to, filename: name });
            expect(await readdir(to)).toEqual([name]);
            expect(await readdir(from)).toEqual([]);
            relocatorMoves = true;
          } catch (error) {
            if (!(error instanceof RelocationError) || error.code !== 'UNSAFE_FILENAME')
              throw error;
            relocatorMoves = false;
          }
          expect(relocatorMoves, `${JSON.stringify(name)}: ${res.body}`).toBe(gatewayAccepts);
          // The join the gateway sizes files with (`registeredFileSize`) agrees too.
          expect(tierFilePath(from, name).ok, JSON.stringify(name)).toBe(gatewayAccepts);
          if (gatewayAccepts) accepted++;
        } finally {
          await rm(from, { recursive: true, force: true });
          await rm(to, { recursive: true, force: true });
        }
      }),
      { numRuns: 300 },
    );
    // The generator reaches both sides of the rule.
    expect(accepted).toBeGreaterThan(10);
  });

  it('on tier paths: a level table is valid exactly when the relocator accepts its paths', () => {
    const segment = fc.oneof(
      fc.constantFrom('', '.', '..', 'data', 'gold', 'tier 2', 'é', '\u0000', '\n'),
      fc.string({ unit: 'grapheme', maxLength: 8 }),
    );
    const paths = fc.oneof(
      fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => `/${parts.join('/')}`),
      fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/')),
      fc.string({ maxLength: 20 }),
    );
    fc.assert(
      fc.property(paths, (dir) => {
        const table = [{ name: 'only', minCount: 0, maxCount: null, path: dir }];
        const gatewayAccepts = validateLevels(table).ok;
        let relocatorAccepts = true;
        try {
          resolveInTier(dir, 'a.mp4');
        } catch (error) {
          if (!(error instanceof RelocationError) || error.code !== 'UNSAFE_PATH') throw error;
          relocatorAccepts = false;
        }
        expect(relocatorAccepts, JSON.stringify(dir)).toBe(gatewayAccepts);
        expect(tierFilePath(dir, 'a.mp4').ok, JSON.stringify(dir)).toBe(gatewayAccepts);
      }),
      { numRuns: 2000 },
    );
  });

  it("on the join: the relocator's resolveInTier is the contract's tierFilePath, code for rule", () => {
    const dirs = fc.constantFrom(
      '/srv/tiers/bronze',
      '/srv/tiers/bronze/',
      '/srv/../x',
      'rel',
      '/',
    );
    const codeOfRule = { 'tier-path': 'UNSAFE_PATH', 'file-name': 'UNSAFE_FILENAME' } as const;
    fc.assert(
      fc.property(dirs, names, (dir, name) => {
        const joined = tierFilePath(dir, name);
        let relocator: { path: string } | { code: string; message: string };
        try {
          relocator = { path: resolveInTier(dir, name) };
        } catch (error) {
          if (!(error instanceof RelocationError)) throw error;
          relocator = { code: error.code, message: error.message };
        }
        expect(relocator).toEqual(
          joined.ok
            ? { path: joined.path }
            : {
                code: codeOfRule[joined.rule],
                message: `${codeOfRule[joined.rule]}: ${joined.message}`,
              },
        );
      }),
      { numRuns: 1000 },
    );
  });
});
