import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeploymentConfig, SiteConfig } from '../../common/config';
import { btcpayStacks, chainDir, BTCPAY_STACKS } from '../../common/stacks/btcpay';
import { containerHash } from '../../common/stacks/spec';
import { appStacks } from '../../common/stacks/apps';
import { sharesNetwork } from '../../activities/docker';
import { deploymentConfig } from '../fixtures/deployment';

/**
 * The btcpayserver instance's stacks as rendered from the config, per chain and Lightning implementation, against
 * golden files in test/fixtures/stacks (UPDATE_GOLDEN=1 rewrites them; review the diff against btcpayserver-docker's
 * fragments).
 */

const GOLDEN = path.resolve(__dirname, '../../../test/fixtures/stacks');

function golden(name: string, actual: string): void {
  const file = path.join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(file, actual);
  assert.equal(
    actual,
    fs.readFileSync(file, 'utf8'),
    `${name} differs from the golden file (UPDATE_GOLDEN=1 rewrites it)`,
  );
}

const site: SiteConfig = {
  domain: 'example.com',
  languageCodes: ['en'],
  deploy: { ghost: true, nextcloud: false, gitea: false, nostr: false },
  btcpayAltNames: ['tip', 'store'],
  backupFullEveryDays: 30,
  backupKeepDays: 90,
  secrets: { duplicityBackupPassphrase: 'never-rendered-1', btcpayPostgresPassword: 'never-rendered-2' },
};

function config(
  chain: DeploymentConfig['project']['bitcoinChain'],
  btcpay: Partial<DeploymentConfig['project']['btcpay']> = {},
): DeploymentConfig {
  const base = deploymentConfig({ bitcoinChain: chain, primaryDomain: 'example.com' });
  return { ...base, project: { ...base.project, btcpay: { ...base.project.btcpay, ...btcpay } }, sites: [site] };
}

const render = (c: DeploymentConfig) => `${JSON.stringify(btcpayStacks(c), null, 2)}\n`;

describe('BTCPay stacks', () => {
  test('regtest with Core Lightning (ss: the default), peers from BITCOIN_PEERS', () => {
    golden('btcpay-regtest-clightning.json', render(config('regtest', { peers: ['10.0.0.1:18444'] })));
  });
  test('regtest with LND (LIGHTNING_IMPL=lnd): ZMQ on the node, the macaroon for BTCPay', () => {
    golden('btcpay-regtest-lnd.json', render(config('regtest', { lightning: 'lnd' })));
  });
  test('mainnet with Core Lightning and clboss: pruned to 50 GB, websocket on 9738', () => {
    golden('btcpay-mainnet-clightning.json', render(config('mainnet', { clboss: true })));
  });

  test('no secret value is rendered; the password is a reference (in a file for PostgreSQL, formatted for the apps)', () => {
    for (const c of [config('regtest'), config('mainnet', { lightning: 'lnd' })]) {
      const text = render(c);
      assert.doesNotMatch(text, /never-rendered/);
      assert.match(text, /"POSTGRES_PASSWORD_FILE": "\/run\/secrets\/POSTGRES_PASSWORD"/);
      assert.match(text, /"format": "User ID=postgres;Password=\{\};Host=postgres;/);
    }
  });

  test('the node first (the chain-sync wait follows it); pruned except on regtest; the RPC on loopback only', () => {
    const [node, server] = btcpayStacks(config('mainnet'));
    assert.equal(node!.name, BTCPAY_STACKS.bitcoin);
    assert.equal(server!.name, BTCPAY_STACKS.server);
    const bitcoind = node!.containers[0]!;
    assert.match(String(bitcoind.env.BITCOIN_EXTRA_ARGS), /^prune=50000$/m);
    assert.doesNotMatch(String(btcpayStacks(config('regtest'))[0]!.containers[0]!.env.BITCOIN_EXTRA_ARGS), /prune/);
    assert.deepEqual(
      bitcoind.ports!.find((p) => p.container === 43782),
      { hostIp: '127.0.0.1', host: 43782, container: 43782 },
    );
    assert.equal(chainDir('mainnet'), '/var/lib/docker/ssw-chain/bitcoin');
    assert.equal(chainDir('testnet'), '/var/lib/docker/ssw-chain/bitcoin/testnet3');
  });

  test('the node and server stacks share their network, so they are applied one after another (never racing)', () => {
    assert.equal(sharesNetwork(btcpayStacks(config('regtest'))), true);
    const apps = appStacks({ ...config('regtest'), sites: [{ ...site, deploy: { ...site.deploy, gitea: true } }] });
    assert.equal(sharesNetwork(apps), false, 'app stacks keep their own networks: applied side by side');
  });

  test('changing the Lightning implementation changes only the server stack; the node keeps running', () => {
    const a = btcpayStacks(config('regtest'));
    const b = btcpayStacks(config('regtest', { lightning: 'lnd' }));
    // The node's ZMQ lines are LND's: the node changes too, deliberately (LND needs them).
    assert.notEqual(containerHash(a[0]!.containers[0]!), containerHash(b[0]!.containers[0]!));
    const c = btcpayStacks(config('regtest', { clboss: true }));
    assert.equal(containerHash(a[0]!.containers[0]!), containerHash(c[0]!.containers[0]!));
  });
});
