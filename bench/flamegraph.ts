/**
 * Turns a V8 .cpuprofile (from `npm run bench -- --profile`) into a standalone
 * SVG flame graph: each box is a function in a call stack, its width the share
 * of busy samples spent in it and below; hover shows the figures.
 *
 *   node -r ./bench/ts-register.js bench/flamegraph.ts <in.cpuprofile> <out.svg> [title]
 */
import { readFileSync, writeFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Frame {
  name: string;
  self: number;
  total: number;
  children: Map<string, Frame>;
}

const WIDTH = 1600;
const ROW = 17;
const IDLE = new Set(['(idle)', '(program)']);

export function flameGraph(profile: { nodes: ProfileNode[] }, title: string): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const root: Frame = { name: 'all', self: 0, total: 0, children: new Map() };
  const visit = (node: ProfileNode, parent: Frame) => {
    const name = frameName(node);
    if (IDLE.has(name)) return;
    let frame = parent.children.get(name);
    if (!frame) parent.children.set(name, (frame = { name, self: 0, total: 0, children: new Map() }));
    frame.self += node.hitCount ?? 0;
    for (const child of node.children ?? []) visit(byId.get(child)!, frame);
  };
  const top = profile.nodes[0];
  for (const child of top.children ?? []) visit(byId.get(child)!, root);
  const total = (frame: Frame): number => (frame.total = frame.self + [...frame.children.values()].reduce((sum, c) => sum + total(c), 0));
  total(root);

  const boxes: string[] = [];
  let depth = 0;
  const draw = (frame: Frame, x: number, level: number) => {
    const width = (frame.total / root.total) * WIDTH;
    if (width < 1) return;
    depth = Math.max(depth, level);
    const share = ((frame.total / root.total) * 100).toFixed(1);
    const label = width > 40 ? escape(truncate(frame.name, Math.floor(width / 7))) : '';
    boxes.push(
      `<g><title>${escape(frame.name)} — ${share}% (${frame.total} samples, self ${frame.self})</title>` +
        `<rect x="${x.toFixed(1)}" y="${level}" width="${width.toFixed(1)}" height="${ROW - 1}" fill="${colour(frame.name)}"/>` +
        `<text x="${(x + 3).toFixed(1)}" y="${level}" dy="12">${label}</text></g>`,
    );
    let childX = x;
    for (const child of [...frame.children.values()].sort((a, b) => b.total - a.total)) {
      draw(child, childX, level + 1);
      childX += (child.total / root.total) * WIDTH;
    }
  };
  draw(root, 0, 0);
  const height = (depth + 3) * ROW;
  // Levels are rows from the top; flip them so the root sits at the bottom, as flame graphs do.
  const body = boxes.map((box) => box.replace(/ y="(\d+)"/g, (_m, level) => ` y="${height - (Number(level) + 2) * ROW}"`)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="monospace" font-size="11">
<text x="4" y="14" font-size="13">${escape(title)} — ${root.total} busy samples (idle excluded); hover a box for its share</text>
${body}
</svg>
`;
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  if (!url) return functionName || '(anonymous)';
  const where = url.replace(/^.*\/node_modules\//, '').replace(/^.*\/dist\//, 'dist/').replace(/^file:\/\//, '');
  return `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
}

function colour(name: string): string {
  if (name.startsWith('(garbage collector)')) return '#c9c9c9';
  if (name.includes('dist/')) return '#f2a65a';
  if (name.includes('node:')) return '#8fb8de';
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return `hsl(${10 + (hash % 40)}, 80%, ${55 + (hash % 15)}%)`;
}

const truncate = (text: string, length: number) => (text.length <= length ? text : `${text.slice(0, Math.max(0, length - 1))}…`);
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

if (require.main === module) {
  const [input, output, title] = process.argv.slice(2);
  if (!input || !output) {
    process.stderr.write('usage: node -r ./bench/ts-register.js bench/flamegraph.ts <in.cpuprofile> <out.svg> [title]\n');
    process.exit(2);
  }
  writeFileSync(output, flameGraph(JSON.parse(readFileSync(input, 'utf8')), title ?? input));
}
