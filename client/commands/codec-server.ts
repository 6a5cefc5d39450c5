import * as fs from 'node:fs';
import { UserError } from '../../common/errors';
import { validPort } from '../cert-target';
import { GlobalArgs, pathsOf } from '../context';
import { defineCommand, type Command } from '../define-command';
import type { CliIO } from '../io';
import { waitForShutdownSignal } from '../services/signals';

export const codecOptions = {
  'codec-port': { type: 'number', describe: 'Codec server port on 127.0.0.1', default: 8888 },
  'ui-origin': {
    type: 'string',
    array: true,
    describe: 'Web UI origin(s) allowed to call the codec (CORS)',
    defaultDescription: 'http://127.0.0.1:8233 and http://localhost:8233',
  },
  'codec-allow-user': {
    type: 'string',
    array: true,
    describe: 'Also serve connections opened by this local user (e.g. the one whose browser shows the Web UI)',
    defaultDescription: 'only the user ssw runs as, and root',
  },
} as const;

export interface CodecArgs {
  'codec-port': number;
  'ui-origin'?: string[];
  'codec-allow-user'?: string[];
  'ui-port'?: number;
}

/** The codec server's flags, checked before the payload key is loaded or created. */
export function checkCodecArgs(args: CodecArgs): void {
  validPort('codec-port', args['codec-port']);
  for (const origin of args['ui-origin'] ?? []) {
    let ok = false;
    try {
      const u = new URL(String(origin));
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === String(origin);
    } catch {
      // not a URL
    }
    if (!ok)
      throw new UserError(
        `--ui-origin must be an origin like http://127.0.0.1:8233 (scheme, host and port, no path), got ${JSON.stringify(String(origin))}.`,
      );
  }
  for (const user of args['codec-allow-user'] ?? []) uidOfUser(String(user));
}

export async function startCodecFromArgs(args: GlobalArgs & CodecArgs, io: CliIO) {
  // Input first: nothing (not even payload.key) is made for a command that is refused.
  checkCodecArgs(args);
  const allowedUids = [process.getuid?.() ?? 0, 0, ...(args['codec-allow-user'] ?? []).map(uidOfUser)];
  const paths = pathsOf(args);
  // Loaded on demand so `ssw --help` does not pay for the SDK.
  const { AesGcmPayloadCodec } = await import('../../common/codec/aes-gcm-codec');
  const { loadOrCreateKeyring } = await import('../../common/codec/keyring');
  const { createCodecServer, listenCodecServer, uiOrigins } = await import('../services/codec-server');
  const codec = new AesGcmPayloadCodec(loadOrCreateKeyring(paths.payloadKey), { plaintext: 'pass' });
  const server = createCodecServer({
    codec,
    allowedOrigins: args['ui-origin'] ?? uiOrigins(args['ui-port'] ?? 8233),
    allowedUids,
  });
  const url = await listenCodecServer(server, { port: args['codec-port'] }).catch((err: NodeJS.ErrnoException) => {
    throw new UserError(
      `Cannot listen on 127.0.0.1:${args['codec-port']} for the codec server (${err.code}). Choose another --codec-port.`,
    );
  });
  io.out(`Codec server on ${url} (POST /encode, /decode).`);
  return { server, url };
}

/** A local user's uid, from the user database (a name or a number). */
export function uidOfUser(user: string): number {
  if (/^\d+$/.test(user)) return Number(user);
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[0] === user);
  if (!line)
    throw new UserError(
      `--codec-allow-user ${JSON.stringify(user.slice(0, 64))}: no such user on this machine (see /etc/passwd).`,
    );
  return Number(line.split(':')[2]);
}

export function codecServerCommand(io: CliIO): Command {
  return defineCommand({
    command: 'codec-server',
    describe: 'Serve /encode and /decode on loopback so the Web UI shows decrypted payloads',
    builder: (y) => y.options(codecOptions),
    handler: async (args) => {
      const { server } = await startCodecFromArgs(args, io);
      await waitForShutdownSignal();
      await new Promise((r) => server.close(r));
      io.out('Codec server stopped.');
    },
  });
}
