import { describe, expect, it } from 'vitest';
import { parseArgs } from './args.ts';
import { clusterFigures } from './cluster.ts';

describe('--cluster', () => {
  it('is off unless asked for', () => {
    expect(parseArgs([]).cluster).toBe(false);
    expect(parseArgs(['--only', 'ingest,relocator', '--cluster']).cluster).toBe(true);
  });

  it('compares each figure on the cluster with the single server of the same run', () => {
    const single = new Map([
      ['ingest.v1-views.throughput', [1000, 1200, 1100]],
      ['relocator.c8.moves', [500, 400, 450]],
    ]);
    const cluster = new Map([
      ['ingest.v1-views.throughput', [800, 900, 880]],
      ['relocator.c8.moves', [400, 400, 450]],
      ['relocator.c32.moves', [300, 310, 320]],
    ]);
    const figures = clusterFigures(single, cluster);
    // relocator.c32.moves has no single-server rounds: left out.
    expect(figures.map((f) => f.name)).toEqual([
      'cluster.ingest.v1-views.throughput',
      'cluster.relocator.c8.moves',
    ]);
    const [ingest] = figures;
    expect(ingest?.value).toBe(880);
    expect(ingest?.baselineValue).toBe(1100);
    expect(ingest?.ratio).toBe(0.8);
    expect(ingest?.target).toBeNull();
    expect(ingest?.verdict).toBeNull();
    expect(ingest?.ratioSpread).toEqual({ min: 0.75, max: 0.8 });
  });
});
