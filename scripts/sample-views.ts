// Writes the sample view log of `npm run replay` (docs/samples/views.ndjson) to stdout:
// `node --import tsx scripts/sample-views.ts > docs/samples/views.ndjson`. Deterministic: 100
// contents over two hours, 3,000 posts, 10 of them hovering at 1000 ± 10 views (the flapping
// case), the others climbing steadily.
import { syntheticViews } from '@relocation/tiering';

const events = syntheticViews({
  contents: 100,
  posts: 3000,
  durationMs: 2 * 3_600_000,
  hovering: 10,
  around: 1000,
  spread: 10,
  startAt: Date.parse('2026-11-30T10:00:00.000Z'),
  seed: 2018,
});
const lines = events.map((e) =>
  JSON.stringify({ cid: e.cid, count: e.count, at: new Date(e.at).toISOString() }),
);
process.stdout.write(`${lines.join('\n')}\n`);
