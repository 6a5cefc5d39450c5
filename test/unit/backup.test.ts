import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyDuplicityFailure } from '../../activities/duplicity';
import { parseChains } from '../../common/backup/chains';
import { backupUnits } from '../../common/backup/plan';
import { FailureType } from '../../common/failure-types';
import { backupSchedule, certRenewSchedule, drillSchedule } from '../../common/temporal/schedules';

const site = {
  domain: 'example.com',
  deploy: { ghost: true, nextcloud: false, gitea: true, nostr: false },
  backupFullEveryDays: 30,
  backupKeepDays: 90,
};

describe('backup units', () => {
  test("one per deployed app and the certificates, in ss's layout", () => {
    const units = backupUnits(site, '/home/ubuntu/ss-data/', '/home/ubuntu/backups');
    assert.deepEqual(
      units.map((u) => u.app),
      ['ghost', 'gitea', 'letsencrypt'],
    );
    assert.deepEqual(units[0], {
      domain: 'example.com',
      app: 'ghost',
      source: '/home/ubuntu/ss-data/ghost/example.com',
      archive: '/home/ubuntu/backups/www/ghost/example.com',
      name: 'example.com-ghost',
      fullEveryDays: 30,
      keepDays: 90,
    });
    assert.deepEqual(
      backupUnits(site, '/d', '/b', ['gitea', 'nextcloud']).map((u) => u.app),
      ['gitea'],
      '--app narrows to deployed apps',
    );
  });
});

describe('duplicity archive chains', () => {
  test('full backups start chains; increments join the chain before them', () => {
    const f = (name: string, size = 10) => ({ name, size });
    const chains = parseChains([
      f('duplicity-full.20261101T010000Z.vol1.difftar.gpg', 1000),
      f('duplicity-full.20261101T010000Z.vol2.difftar.gpg', 500),
      f('duplicity-full.20261101T010000Z.manifest.gpg'),
      f('duplicity-full-signatures.20261101T010000Z.sigtar.gpg'),
      f('duplicity-inc.20261101T010000Z.to.20261102T010000Z.vol1.difftar.gpg', 40),
      f('duplicity-inc.20261101T010000Z.to.20261102T010000Z.manifest.gpg'),
      f('duplicity-new-signatures.20261101T010000Z.to.20261102T010000Z.sigtar.gpg'),
      f('duplicity-full.20261201T010000Z.vol1.difftar.gpg', 900),
      f('README'),
    ]);
    assert.equal(chains.length, 2);
    assert.deepEqual(chains[0]!.full, { kind: 'full', time: '2026-11-01T01:00:00Z', bytes: 1520, volumes: 2 });
    assert.deepEqual(chains[0]!.incrementals, [
      { kind: 'incremental', time: '2026-11-02T01:00:00Z', bytes: 60, volumes: 1 },
    ]);
    assert.equal(chains[1]!.full.time, '2026-12-01T01:00:00Z');
  });
});

describe("reading duplicity's failures", () => {
  const unit = {
    domain: 'example.com',
    app: 'ghost' as const,
    source: '/d/ghost/example.com',
    archive: '/b/www/ghost/example.com',
  };
  test('wrong passphrase, missing backup, damaged volume, full disk are final; others are retried', () => {
    const gpg =
      'GPGError: GPG Failed, see log below:\n===== Begin GnuPG log =====\ngpg: decryption failed: Bad session key\n';
    const wrong = classifyDuplicityFailure(unit, 31, gpg);
    assert.equal(wrong.type, FailureType.Secret);
    assert.equal(wrong.nonRetryable, true);
    assert.match(wrong.message, /DUPLICITY_BACKUP_PASSPHRASE in sites\/example\.com\/site\.conf/);
    assert.equal(classifyDuplicityFailure(unit, 42, '').type, FailureType.BackupMissing);
    assert.equal(classifyDuplicityFailure(unit, 40, '').type, FailureType.Validation);
    const damaged = classifyDuplicityFailure(
      unit,
      21,
      'Invalid data - SHA1 hash mismatch for file:\n duplicity-full.20261122T211958Z.vol1.difftar.gpg\n Calculated hash: 6a\n',
    );
    assert.equal(damaged.type, FailureType.BackupCorrupt);
    assert.match(damaged.message, /duplicity-full\.20261122T211958Z\.vol1\.difftar\.gpg does not match its manifest/);
    const full = classifyDuplicityFailure(unit, 50, "OSError: [Errno 28] No space left on device: '/b/www'");
    assert.equal(full.type, FailureType.DiskFull);
    assert.equal(full.nonRetryable, true);
    const other = classifyDuplicityFailure(unit, 1, 'BackendException: something transient');
    assert.equal(other.nonRetryable, false);
  });
});

describe('backup schedules', () => {
  const target = { kind: 'deployment' as const, remote: 'home', deployment: 'public' };
  test('nightly backup before the renewal window, weekly drill on Sunday after it', () => {
    const b = backupSchedule(target);
    assert.equal(b.scheduleId, 'backup/home/public');
    assert.equal(b.workflowType, 'backupDeployment');
    assert.ok(b.at.hour >= 0 && b.at.hour <= 1);
    assert.ok(b.at.hour < certRenewSchedule(target).at.hour);
    const d = drillSchedule(target);
    assert.equal(d.scheduleId, 'backup-verify/home/public');
    assert.equal(d.dayOfWeek, 'SUNDAY');
    assert.ok(d.at.hour >= 5 && d.at.hour <= 6);
  });
});

describe('backup plan from the config', () => {
  test('an off-site remote the machine does not know is a clear error naming the file', async () => {
    const fs = await import('node:fs');
    const { SsPaths } = await import('../../common/paths');
    const { resolveBackupPlan } = await import('../../common/backup/resolve');
    const { tempSsRoot } = await import('../helpers/temporal');
    const paths = new SsPaths(tempSsRoot('ssw-bplan-'));
    fs.mkdirSync(paths.siteDir('a.test'), { recursive: true });
    fs.writeFileSync(
      paths.siteConf('a.test'),
      'DOMAIN_NAME=a.test\nDEPLOY_GHOST=false\nDUPLICITY_BACKUP_PASSPHRASE=p\nBACKUP_OFFSITE_REMOTE=nowhere\n',
      { mode: 0o600 },
    );
    const target = {
      kind: 'host' as const,
      host: { ssh: { host: '192.0.2.1', port: 22, user: 'root' }, dataPath: '/d', backupPath: '/b' },
      domains: ['a.test'],
    };
    assert.throws(
      () => resolveBackupPlan(paths, target),
      /BACKUP_OFFSITE_REMOTE="nowhere" in .*a\.test\/site\.conf names no remote of this machine/,
    );
    fs.mkdirSync(paths.remoteDir('nowhere'), { recursive: true });
    fs.writeFileSync(
      paths.remoteRecord('nowhere'),
      JSON.stringify({ name: 'nowhere', ssh: { host: '192.0.2.9', port: 2222, user: 'root' } }),
    );
    const plan = resolveBackupPlan(paths, target);
    assert.deepEqual(
      plan.units.map((u) => [u.app, u.offsite?.dir, u.offsite?.ssh.port]),
      [['letsencrypt', '/home/ubuntu/ss-offsite/a.test/letsencrypt', 2222]],
    );
  });
});
