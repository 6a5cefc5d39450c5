import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../common/errors';
import { DEFAULT_DATA_PATH } from '../../common/hosts';
import {
  readInstanceRecord,
  readWwwHost,
  removeInstanceRecord,
  writeInstanceRecord,
} from '../../common/hosts/instance-record';
import { SsPaths } from '../../common/paths';

describe('the instance record', () => {
  const paths = new SsPaths(fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-instance-')));
  const ssh = { host: '10.0.0.5', port: 22, user: 'ubuntu', privateKeyPath: '/k' };

  test('written 0600 and read back; the www host defaults its data path', () => {
    writeInstanceRecord(paths, 'lab', 'dep1', 'www', { ssh, name: 'www-dep1' });
    const file = paths.instanceRecord('lab', 'dep1', 'www');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readInstanceRecord(paths, 'lab', 'dep1', 'www'), { ssh, name: 'www-dep1' });
    assert.deepEqual(readWwwHost(paths, 'lab', 'dep1'), {
      ssh: { ...ssh, useAgent: undefined },
      dataPath: DEFAULT_DATA_PATH,
    });
  });

  test('missing: undefined, and readWwwHost says how to create it; broken: a UserError naming the file', () => {
    assert.equal(readInstanceRecord(paths, 'lab', 'none', 'www'), undefined);
    assert.throws(
      () => readWwwHost(paths, 'lab', 'none'),
      /has no www instance recorded .*"ssw up --deployment none" creates it/,
    );
    const file = paths.instanceRecord('lab', 'bad', 'www');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '{"ssh": {"host": "h", "port": "22", "user": "u"}}');
    assert.throws(
      () => readInstanceRecord(paths, 'lab', 'bad', 'www'),
      (e) => e instanceof UserError && /lacks ssh\.host, ssh\.port or ssh\.user/.test(e.message),
    );
    fs.writeFileSync(file, '{');
    assert.throws(() => readInstanceRecord(paths, 'lab', 'bad', 'www'), /is not valid JSON/);
  });

  test('removed only when it records the instance named (or none)', () => {
    writeInstanceRecord(paths, 'lab', 'dep2', 'www', { ssh, name: 'www-new' });
    assert.equal(removeInstanceRecord(paths, 'lab', 'dep2', 'www', 'www-old'), undefined);
    assert.ok(readInstanceRecord(paths, 'lab', 'dep2', 'www'));
    assert.deepEqual(removeInstanceRecord(paths, 'lab', 'dep2', 'www', 'www-new')?.ssh, ssh);
    assert.equal(readInstanceRecord(paths, 'lab', 'dep2', 'www'), undefined);
  });
});
