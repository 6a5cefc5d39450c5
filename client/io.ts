/**
 * Where a command writes. Handlers never touch process.stdout directly, so
 * tests can run `runCli(argv)` in-process and pin whole outputs.
 */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** Live progress bars only on a terminal; plain lines otherwise. */
  isTTY: boolean;
  /** The process exit code the command wants (errors set it through the error handler). */
  exitCode: number;
}

let pipeWatched = false;

export function processIO(): CliIO {
  // `ssw backup list | head` closes our stdout early: that ends the output, it is not an error.
  if (!pipeWatched) {
    pipeWatched = true;
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
  return {
    out: (t) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
    err: (t) => process.stderr.write(t.endsWith('\n') ? t : t + '\n'),
    isTTY: Boolean(process.stdout.isTTY),
    exitCode: 0,
  };
}

export function bufferIO(): CliIO & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    isTTY: false,
    exitCode: 0,
    out(t: string) {
      io.stdout += t.endsWith('\n') ? t : t + '\n';
    },
    err(t: string) {
      io.stderr += t.endsWith('\n') ? t : t + '\n';
    },
  };
  return io;
}
