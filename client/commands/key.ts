import { rotateKeyring } from '../../common/codec/keyring';
import { pathsOf } from '../context';
import { defineCommand, defineGroup, type Command } from '../define-command';
import type { CliIO } from '../io';

export function keyCommand(io: CliIO): Command {
  return defineGroup({
    name: 'key',
    describe: 'Manage the payload encryption key ($SS_ROOT/keys/payload.key)',
    subcommands: [
      defineCommand({
        command: 'rotate',
        describe: 'New payloads use a fresh key; old keys still decrypt',
        handler: async (args) => {
          const file = pathsOf(args).payloadKey;
          const id = rotateKeyring(file);
          io.out(
            args.json
              ? JSON.stringify({ keyId: id, file })
              : `New payload key ${id} is now used for new payloads; older keys in ${file} still decrypt. ` +
                  'Restart workers and the codec server to pick it up.',
          );
        },
      }),
    ],
  });
}
