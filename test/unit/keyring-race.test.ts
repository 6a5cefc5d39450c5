import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadOrCreateKeyring } from '../../common/codec/keyring';
import { tempSsRoot } from '../helpers/temporal';

// Several processes creating the key at once (worker, CLI and codec server
// started together on an empty $SS_ROOT) must all end up with the same key.
const keyringModule = require.resolve('../../common/codec/keyring');

function keyIdFromChild(file: string, at: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      '-e',
      `const k = require(${JSON.stringify(keyringModule)}); while (Date.now() < ${at}); process.stdout.write(k.loadOrCreateKeyring(${JSON.stringify(file)}).current.id)`,
    ]);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}`))));
  });
}

test('concurrent first use creates one key that every process uses', async () => {
  for (let round = 0; round < 6; round++) {
    const file = path.join(tempSsRoot(), 'keys', 'payload.key');
    // Every child loads first, then spins until the same instant: the calls really overlap.
    const at = Date.now() + 1200;
    const ids = await Promise.all(Array.from({ length: 6 }, () => keyIdFromChild(file, at)));
    const onDisk = loadOrCreateKeyring(file);
    assert.equal(onDisk.all.size, 1, 'exactly one key was written');
    for (const id of ids)
      assert.equal(id, onDisk.current.id, `round ${round}: a process used a key that is not in the file`);
  }
});
