import { describe, expect, it } from 'vitest';
import { MAX_FILENAME_BYTES, TEMP_MARKER, filenameProblem } from './file-name.ts';
import { TIER_MARKER_FILE } from './tier-marker.ts';

describe('filenameProblem', () => {
  it.each([
    'a.mp4',
    'g.mp4',
    'movie 1.mp4',
    'ünïcödé.mkv',
    'a.b.c',
    '영상.mp4',
    'x'.repeat(MAX_FILENAME_BYTES),
  ])('accepts the plain base name %j', (name) => {
    expect(filenameProblem(name)).toBeNull();
  });

  it.each([
    ['empty', '', /must not be empty/],
    ['dot', '.', /must not contain "\.\."|must not start with "\."/],
    ['dot-dot', '..', /must not contain "\.\."/],
    ['traversal', '../x', /without "\/"/],
    ['absolute path', '/etc/passwd', /without "\/"/],
    ['backslash', 'a\\b', /without "\/" or "\\"/],
    ['embedded dot-dot (the gateway once accepted it)', '..hidden..mp4', /must not contain "\.\."/],
    ['hidden (dot-files are the service’s own)', '.hidden.mp4', /must not start with "\."/],
    ['the tier marker', TIER_MARKER_FILE, /must not start with "\."/],
    ['the temporary-copy marker', `x.mp4${TEMP_MARKER}1`, /relocating-/],
    ['a lone space', ' ', /white space/],
    ['a leading space', ' a.mp4', /white space/],
    ['a trailing space', 'a.mp4 ', /white space/],
    ['a trailing tab', 'a.mp4\t', /control/],
    ['NUL', 'a\0b', /control/],
    ['newline', 'a\nb', /control/],
    ['DEL', 'a\u007fb', /control/],
    ['a C1 control', 'a\u0085b', /control/],
    ['a lone bidi override', '\u202E', /format/],
    ['a right-to-left override inside', 'evil\u202Egpj.mp4', /format/],
    ['a zero-width space', 'a\u200Bb', /format/],
    ['a byte-order mark', '\uFEFFa.mp4', /format/],
    ['a line separator', 'a\u2028b', /control, format/],
    ['a lone surrogate', 'a\uD800b', /well-formed/],
    ['too long', 'x'.repeat(MAX_FILENAME_BYTES + 1), /at most 255 bytes/],
    ['too long in bytes', 'é'.repeat(128), /at most 255 bytes/],
  ])('refuses %s', (_label, name, message) => {
    expect(filenameProblem(name)).toMatch(message);
  });
});
