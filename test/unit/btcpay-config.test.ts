import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { withBtcpaySecrets } from '../../activities/config/btcpay-secrets';
import { loadProjectConfig } from '../../common/config';
import { ConfigError } from '../../common/errors';
import { SsPaths } from '../../common/paths';

/** project.conf's BTCPay keys (defaults, strict values) and the generation of its secrets on first use. */

const temps: string[] = [];
after(() => temps.forEach((t) => fs.rmSync(t, { recursive: true, force: true })));

function project(lines: string[]) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-btcpay-conf-'));
  temps.push(root);
  const paths = new SsPaths(root);
  fs.mkdirSync(path.dirname(paths.projectConf('public')), { recursive: true });
  fs.writeFileSync(paths.projectConf('public'), ['PRIMARY_DOMAIN=example.com', ...lines, ''].join('\n'));
  return () => loadProjectConfig(paths, 'public');
}

function problems(load: () => unknown): string[] {
  try {
    load();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.key}: ${p.message}`);
    throw err;
  }
  return assert.fail('expected a ConfigError');
}

describe('BTCPay config', () => {
  test('defaults: Core Lightning, no clboss, the P2P network, a 30-minute stall limit, the fragments images', () => {
    const b = project([])().btcpay;
    assert.equal(b.lightning, 'clightning');
    assert.equal(b.clboss, false);
    assert.deepEqual(b.peers, []);
    assert.equal(b.syncStallSeconds, 1800);
    assert.equal(b.images.bitcoin, 'btcpayserver/bitcoin:31.1');
    assert.equal(b.images.clightning, 'btcpayserver/lightning:v26.06.7');
  });

  test('set: LND, clboss, peers, stall limit, an image', () => {
    const b = project([
      'LIGHTNING_IMPL=lnd',
      'DEPLOY_CLBOSS_PLUGIN=true',
      'BITCOIN_PEERS=10.0.0.5:8333,node.example.org:18444',
      'BITCOIN_SYNC_STALL_SECONDS=600',
      'BITCOIN_IMAGE=registry.example.com:5000/bitcoin:27.0',
    ])().btcpay;
    assert.equal(b.lightning, 'lnd');
    assert.equal(b.clboss, true);
    assert.deepEqual(b.peers, ['10.0.0.5:8333', 'node.example.org:18444']);
    assert.equal(b.syncStallSeconds, 600);
    assert.equal(b.images.bitcoin, 'registry.example.com:5000/bitcoin:27.0');
  });

  test('bad values are named, with what was expected, every one at once', () => {
    const found = problems(
      project([
        'LIGHTNING_IMPL=eclair',
        'BITCOIN_PEERS=10.0.0.5,node:99999',
        'BITCOIN_SYNC_STALL_SECONDS=5',
        'DEPLOY_CLBOSS_PLUGIN=yes',
      ]),
    );
    assert.equal(found.length, 4, found.join('\n'));
    assert.ok(
      found.some((m) => /^LIGHTNING_IMPL: .*clightning or lnd/.test(m)),
      found.join('\n'),
    );
    assert.ok(
      found.some((m) => /^BITCOIN_PEERS: .*host:port/.test(m)),
      found.join('\n'),
    );
    assert.ok(
      found.some((m) => /^BITCOIN_SYNC_STALL_SECONDS: .*from 60/.test(m)),
      found.join('\n'),
    );
    assert.ok(
      found.some((m) => /^DEPLOY_CLBOSS_PLUGIN: .*true or false/.test(m)),
      found.join('\n'),
    );
  });

  test('secrets: appended only when missing or empty, never replacing a set one; the names returned, not values', () => {
    const fresh = withBtcpaySecrets('DOMAIN_NAME=example.com', () => 'NEW');
    assert.deepEqual(fresh.added, ['BTCPAY_POSTGRES_PASSWORD']);
    assert.match(fresh.text, /^DOMAIN_NAME=example\.com\n# Added by ssw .*\nBTCPAY_POSTGRES_PASSWORD="NEW"\n$/);
    const set = withBtcpaySecrets('BTCPAY_POSTGRES_PASSWORD="kept"\n', () => 'NEW');
    assert.deepEqual(set.added, []);
    assert.equal(set.text, 'BTCPAY_POSTGRES_PASSWORD="kept"\n');
    const empty = withBtcpaySecrets('BTCPAY_POSTGRES_PASSWORD=\n', () => 'NEW');
    assert.deepEqual(empty.added, ['BTCPAY_POSTGRES_PASSWORD']);
    assert.equal(empty.text, 'BTCPAY_POSTGRES_PASSWORD="NEW"\n', 'filled in where it was: one assignment');
  });
});
