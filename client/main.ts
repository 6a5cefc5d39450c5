#!/usr/bin/env node
import { runCli } from './cli';

// Library deprecation notices (e.g. grpc-js on TLS to an IP address) are not the operator's concern.
if (!process.argv.includes('--verbose')) process.noDeprecation = true;

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
