/**
 * What each benchmark hands back to `npm run bench` for its one summary table: a
 * measured figure, the goal an issue set for it, and whether this run met it. Benchmarks
 * still print their own detail tables; these rows are the headline.
 */
export interface BenchRow {
  /** What was measured, e.g. "simulator, 24 h day". */
  what: string;
  /** The figure as shown, with its unit, e.g. "21,000× real time". */
  value: string;
  /** The goal as shown, e.g. "≥ 8,640×", or "" when there is none. */
  goal: string;
  /** Whether this run met the goal; null when there is no goal. */
  met: boolean | null;
}
