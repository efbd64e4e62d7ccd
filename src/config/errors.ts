/** Errors that stop start-up (or a reload) with a clear reason; the CLI exits with status 2 for them. */
export class StartupError extends Error {
  override readonly name = "StartupError";
  readonly exitCode = 2;

  constructor(
    reason: string,
    /** The file at fault, when there is one. */
    readonly file?: string,
    /** 1-based line in `file`; 0 when unknown. */
    readonly line?: number,
  ) {
    super(file === undefined ? reason : `${file}:${line ?? 0}: ${reason}`);
  }
}
