/** What every part of a benchmark run needs: the tools, the quiet-machine waiter, and the progress log. */
import type { Tool } from "./environment.js";
import type { QuietWaiter } from "./quiet.js";

export interface RunContext {
  readonly tools: Record<Tool, string>;
  readonly quiet: QuietWaiter;
  /** Progress lines, on standard error. */
  readonly log: (line: string) => void;
}
