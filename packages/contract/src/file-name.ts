/** Longest file name in bytes (UTF-8) most file systems accept (`NAME_MAX`). */
export const MAX_FILENAME_BYTES = 255;

/** Marks the relocator's temporary copies (`.<name>.relocating-<tag>`); never part of a content's name. */
export const TEMP_MARKER = '.relocating-';

// Characters a file name may not contain: C0/C1 controls (Cc), format characters (Cf: bidi
// overrides such as U+202E, zero-width characters, the BOM), line and paragraph separators and
// private-use code points. Each of them makes a name that displays as something else.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}]/u;

/**
 * Why `name` is not a file name a content may have, or `null` when it is. The one rule the
 * gateway (registration) and the relocator (every move) apply, so a name the API accepts is one
 * the relocator can move (invariant I8).
 *
 * A content's file name is a plain base name of visible characters: not empty, at most
 * {@link MAX_FILENAME_BYTES} bytes of UTF-8, well-formed Unicode, no `/` or `\`, no `..`, no
 * control, format (bidi override, zero-width) or private-use characters, no leading or trailing
 * white space, not starting with `.` (dot-files in a tier directory are the service's own: tier
 * markers and temporary copies), and never containing {@link TEMP_MARKER}.
 */
export function filenameProblem(name: string): string | null {
  if (name === '') return 'must not be empty';
  if (/\p{Cs}/u.test(name)) return 'must be well-formed Unicode (it has a lone surrogate)';
  if (name.includes('/') || name.includes('\\')) {
    return 'must be a plain file name without "/" or "\\"';
  }
  if (name.includes('..')) return 'must not contain ".."';
  if (name.startsWith('.')) {
    return 'must not start with "." (dot-files in tier directories belong to the service)';
  }
  if (INVISIBLE.test(name)) {
    return 'must not contain control, format (bidi, zero-width) or private-use characters';
  }
  if (/^\s|\s$/u.test(name)) return 'must not start or end with white space';
  if (Buffer.byteLength(name, 'utf8') > MAX_FILENAME_BYTES) {
    return `must be at most ${MAX_FILENAME_BYTES} bytes of UTF-8`;
  }
  if (name.includes(TEMP_MARKER)) {
    return `must not contain "${TEMP_MARKER}" (it marks the relocator's temporary copies)`;
  }
  return null;
}
