import { readFile } from 'node:fs/promises';
import { validateLevels, type Level } from '@relocation/tiering';

/**
 * Reads a candidate level table for `--levels FILE` (the body of `PUT /v1/levels`,
 * `{"levels": [...]}`, or the array alone) and checks it by the level rules. A file that cannot
 * be read or holds no table is bad usage (`usage`, exit 2); a table the rules refuse exits 1
 * naming each level and rule, as `PUT /v1/levels` answers 400 `INVALID_LEVELS`.
 */
export async function readLevelsFile(
  file: string,
  usage: (problem: string) => never,
): Promise<readonly Level[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    usage(`--levels: cannot read ${file}: ${(error as Error).message}`);
  }
  const table = Array.isArray(parsed) ? parsed : (parsed as { levels?: unknown } | null)?.levels;
  if (!Array.isArray(table)) usage(`--levels: ${file} holds neither {"levels": [...]} nor [...]`);
  const checked = validateLevels(table as Level[]);
  if (!checked.ok) {
    const problems = checked.errors.map((v) => `${v.message} (rule: ${v.rule})`);
    process.stderr.write(`invalid level table (INVALID_LEVELS): ${problems.join('; ')}\n`);
    process.exit(1);
  }
  return checked.levels;
}
