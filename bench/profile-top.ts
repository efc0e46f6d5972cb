// Prints where a V8 CPU profile spent its time: self time per package, the top frames by self
// time, and the top functions by inclusive time (a function counted once per sample):
//   npx tsx bench/profile-top.ts <file.cpuprofile> [frames=25]
// Profiles come from `npm run bench -- --cpu-prof --only <name>`: every server child writes
// bench/profiles/<child>-<time>/CPU.*.cpuprofile when it exits (the biggest file is the main
// thread; the other one is tsx's module loader thread).
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

/** Which package (or part of Node) a script URL belongs to. */
function packageOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native / V8)';
  if (url.startsWith('node:')) return 'node core';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1] ?? url;
  const ws = /\/(apps|packages)\/([^/]+)\//.exec(url);
  if (ws) return `@relocation/${ws[2] ?? ''}`;
  if (url.includes('/bench/')) return 'bench';
  return url;
}

function frameKey(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const short = url.replace(/^file:\/\/.*?\/(node_modules|apps|packages|bench)\//, '$1/');
  return `${functionName || '(anonymous)'}  ${short}:${lineNumber + 1}`;
}

const [file, framesArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: npx tsx bench/profile-top.ts <file.cpuprofile> [frames]\n');
  process.exit(2);
}
const limit = Number(framesArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const node of profile.nodes)
  for (const child of node.children ?? []) parent.set(child, node.id);

const samples = profile.samples ?? [];
const deltas = profile.timeDeltas ?? [];
let total = 0;
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const packages = new Map<string, number>();
for (let i = 0; i < samples.length; i++) {
  const node = byId.get(samples[i] ?? -1);
  const us = deltas[i] ?? 0;
  // Time the process waited for work is not cost.
  if (!node || node.callFrame.functionName === '(idle)') continue;
  total += us;
  const key = frameKey(node);
  self.set(key, (self.get(key) ?? 0) + us);
  const pkg = packageOf(node.callFrame.url, node.callFrame.functionName);
  packages.set(pkg, (packages.get(pkg) ?? 0) + us);
  const seen = new Set<string>();
  for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
    const frame = byId.get(id);
    if (!frame || frame.callFrame.url === '') continue;
    const k = frameKey(frame);
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + us);
  }
}
const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
const top = (map: Map<string, number>, n: number) =>
  [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
const out: string[] = [`${file}: ${(total / 1e6).toFixed(2)} s busy (idle excluded)`, ''];
out.push('self time by package:');
for (const [name, us] of top(packages, 15)) out.push(`${pct(us)}  ${name}`);
out.push('', 'top frames by self time:');
for (const [name, us] of top(self, limit)) out.push(`${pct(us)}  ${name}`);
out.push('', 'top functions by inclusive time (JavaScript frames only):');
for (const [name, us] of top(inclusive, limit)) out.push(`${pct(us)}  ${name}`);
process.stdout.write(`${out.join('\n')}\n`);
