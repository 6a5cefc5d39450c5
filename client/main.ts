#!/usr/bin/env node
import { runCli } from './cli';

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    // runCli reports its own errors; reaching here is a bug in the reporter itself.
    console.error(err);
    process.exitCode = 3;
  },
);
