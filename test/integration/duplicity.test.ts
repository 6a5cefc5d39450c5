import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDuplicityActivities } from '../../activities/duplicity';
import { backupUnits, type BackupPlan } from '../../common/backup/plan';
import { FailureType } from '../../common/failure-types';
import { SsPaths } from '../../common/paths';
import { isFailure } from '../helpers/failures';
import { harness } from '../helpers/harness';
import { tempSsRoot } from '../helpers/temporal';
import { treeDigest, writeAppData } from '../helpers/tree';
import { realClients } from '../../workers/clients';

// duplicity on the harness SSH host (real gpg encryption, file:// archives), archives moved over SFTP.
const env = new MockActivityEnvironment();
const run = <A extends unknown[], R>(fn: (...a: A) => Promise<R>, ...args: A): Promise<R> => env.run(fn, ...args);

const root = tempSsRoot('ssw-dup-');
const paths = new SsPaths(path.join(root, 'ss'));
const DOMAIN = 'dup.test';
const PASSPHRASE = 'dup-test-passphrase-Ω-with spaces';
const plan: BackupPlan = {
  host: {
    ssh: { host: '127.0.0.1', port: harness().ssh.port, user: 'root', privateKeyPath: harness().ssh.privateKeyPath },
    dataPath: path.join(root, 'data'),
  },
  backupPath: path.join(root, 'backups'),
  units: [],
};
const site = {
  domain: DOMAIN,
  deploy: { ghost: true, nextcloud: false, gitea: false, nostr: false },
  backupFullEveryDays: 30,
  backupKeepDays: 0,
};
const [ghost] = backupUnits(site, plan.host.dataPath, plan.backupPath, ['ghost']);
const dup = createDuplicityActivities({ paths, ...realClients(paths) });

function writeSiteConf(passphrase: string): void {
  fs.mkdirSync(paths.siteDir(DOMAIN), { recursive: true });
  fs.writeFileSync(
    paths.siteConf(DOMAIN),
    `DOMAIN_NAME=${DOMAIN}\nDEPLOY_GHOST=false\nDUPLICITY_BACKUP_PASSPHRASE="${passphrase}"\n`,
    { mode: 0o600 },
  );
}

before(() => {
  fs.mkdirSync(paths.root, { recursive: true });
  fs.writeFileSync(paths.knownHosts, `${harness().ssh.hostKeyLine}\n`);
  writeSiteConf(PASSPHRASE);
  writeAppData(ghost!.source);
});

describe('duplicity activities', () => {
  test('duplicity is there (installed from the OS packages when missing)', async () => {
    const { version } = await run(dup.ensureDuplicity, plan.host.ssh);
    assert.match(version, /^duplicity \d+\.\d+/);
  });

  let firstTree: Record<string, string>;
  let firstTime: string;

  test('a full backup, then an incremental one, both pulled to this machine', async () => {
    firstTree = treeDigest(ghost!.source);
    const full = await run(dup.backupApp, plan, ghost!);
    assert.equal(full.kind, 'full');
    assert.ok(full.files.some((f) => f.name.endsWith('.difftar.gpg')));
    const archived = Buffer.concat(full.files.map((f) => fs.readFileSync(path.join(ghost!.archive, f.name))));
    assert.ok(!archived.includes('Bitcoin only.'), 'the archive is encrypted');
    const pulled = await run(dup.pullArchive, plan.host, ghost!);
    assert.equal(pulled.files, full.files.length);
    const local = path.join(paths.siteDir(DOMAIN), 'backups', 'www', 'ghost');
    assert.deepEqual(fs.readdirSync(local).sort(), full.files.map((f) => f.name).sort());
    firstTime = /duplicity-full\.(\d{8}T\d{6}Z)\./.exec(full.files.map((f) => f.name).join(' '))![1]!;

    // duplicity's times have one-second resolution: the second backup must be a later second.
    await new Promise((r) => setTimeout(r, 1100));
    fs.appendFileSync(path.join(ghost!.source, 'content', 'post.md'), 'An edit.\n');
    fs.writeFileSync(path.join(ghost!.source, 'content', 'images', 'new.bin'), crypto.randomBytes(64 * 1024));
    fs.rmSync(path.join(ghost!.source, 'config.json'));
    const inc = await run(dup.backupApp, plan, ghost!);
    assert.equal(inc.kind, 'incremental');
    const again = await run(dup.pullArchive, plan.host, ghost!);
    assert.equal(again.skipped, full.files.length, 'files already here are not copied again');
  });

  test('restore as of the first backup is byte-identical to the data then; the live data is kept aside', async () => {
    const t = firstTime.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z');
    const live = treeDigest(ghost!.source);
    const r = await run(dup.restoreApp, plan, ghost!, t);
    assert.deepEqual(treeDigest(ghost!.source), firstTree);
    assert.deepEqual(treeDigest(r.replacedKeptAt!), live);
    // And the latest is the second backup.
    await run(dup.restoreApp, plan, ghost!);
    assert.deepEqual(treeDigest(ghost!.source), live);
  });

  test('a host that lost its archive gets it back from this machine before the restore', async () => {
    fs.rmSync(ghost!.archive, { recursive: true });
    fs.mkdirSync(ghost!.archive, { recursive: true });
    fs.writeFileSync(
      path.join(ghost!.archive, fs.readdirSync(path.join(paths.siteDir(DOMAIN), 'backups', 'www', 'ghost'))[0]!),
      'partial',
    );
    const pushed = await run(dup.pushArchive, plan.host, ghost!);
    assert.equal(pushed.files, 6);
    const live = treeDigest(ghost!.source);
    await run(dup.restoreApp, plan, ghost!);
    assert.deepEqual(treeDigest(ghost!.source), live);
  });

  test('a wrong passphrase changes nothing, for backup and restore, and is final', async () => {
    writeSiteConf('not the passphrase');
    const archiveBefore = fs.readdirSync(ghost!.archive).sort();
    const live = treeDigest(ghost!.source);
    try {
      await assert.rejects(
        run(dup.backupApp, plan, ghost!),
        isFailure(
          FailureType.Secret,
          true,
          /DUPLICITY_BACKUP_PASSPHRASE in sites\/dup\.test\/site\.conf does not open/,
        ),
      );
      await assert.rejects(run(dup.restoreApp, plan, ghost!), isFailure(FailureType.Secret, true, /does not open/));
    } finally {
      writeSiteConf(PASSPHRASE);
    }
    assert.deepEqual(fs.readdirSync(ghost!.archive).sort(), archiveBefore);
    assert.deepEqual(treeDigest(ghost!.source), live);
  });

  test('an absent app path and a missing archive are clear, final errors', async () => {
    const [nextcloud] = backupUnits(
      { ...site, deploy: { ...site.deploy, nextcloud: true } },
      plan.host.dataPath,
      plan.backupPath,
      ['nextcloud'],
    );
    await assert.rejects(
      run(dup.backupApp, plan, nextcloud!),
      isFailure(
        FailureType.Validation,
        true,
        /nextcloud of dup\.test is not on the host: .*nextcloud\/dup\.test does not exist/,
      ),
    );
    await assert.rejects(
      run(dup.restoreApp, plan, nextcloud!),
      isFailure(FailureType.BackupMissing, true, /no backup of nextcloud of dup\.test/),
    );
  });
});
