import type { CommandModule } from 'yargs';
import { rotateKeyring } from '../../common/codec/keyring';
import { GlobalArgs, pathsOf } from '../context';
import type { CliIO } from '../io';

export function keyCommand(io: CliIO): CommandModule<GlobalArgs, GlobalArgs> {
  return {
    command: 'key <action>',
    describe: 'Manage the payload encryption key ($SS_ROOT/keys/payload.key)',
    builder: (y) => y.positional('action', { choices: ['rotate'] as const, describe: 'rotate: new payloads use a fresh key; old keys still decrypt' }),
    handler: async (args) => {
      const file = pathsOf(args).payloadKey;
      const id = rotateKeyring(file);
      io.out(args.json ? JSON.stringify({ keyId: id, file }) : `New payload key ${id} is now used for new payloads; older keys in ${file} still decrypt. Restart workers and the codec server to pick it up.`);
    },
  };
}
