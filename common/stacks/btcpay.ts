import type { BitcoinChain } from '../config';
import { DEFAULT_DATA_PATH } from '../hosts';

/**
 * The BTCPay stack's constants (issue 16), from btcpayserver/btcpayserver-docker's fragments
 * (docker-compose-generator/docker-fragments/) and farscapian/sovereign-stack's
 * deployment/project/btcpayserver/stub_btcpay_setup.sh. The stack renderer (btcpayStacks) is not written yet.
 */

/** Default images, as the fragments pin them. */
export const BTCPAY_IMAGE_DEFAULTS = {
  // bitcoincore.yml (the newest fragment; bitcoin.yml is its older name)
  BITCOIN_IMAGE: 'btcpayserver/bitcoin:31.1',
  // nbxplorer.yml
  NBXPLORER_IMAGE: 'nicolasdorier/nbxplorer:2.5.30-1',
  // btcpayserver.yml
  BTCPAY_IMAGE: 'btcpayserver/btcpayserver:2.3.5',
  // postgres.yml (PostgreSQL 18: data under /var/lib/postgresql)
  BTCPAY_POSTGRES_IMAGE: 'btcpayserver/postgres:18.1',
  // bitcoin-clightning.yml
  CLIGHTNING_IMAGE: 'btcpayserver/lightning:v26.06.7',
  // bitcoin-lnd.yml
  LND_IMAGE: 'btcpayserver/lnd:v0.18.4-beta',
} as const;

/** bitcoind's RPC and P2P ports, as btcpayserver-docker sets them on every chain (bitcoincore.yml). */
export const BITCOIN_RPC_PORT = 43782;
export const BITCOIN_P2P_PORT = 39388;
export const NBXPLORER_PORT = 32838;
export const BTCPAY_PORT = 49392;

/** The chain's subdirectory of the datadir, as bitcoind makes it (where blocks/, chainstate/ and .cookie are). */
export const BITCOIN_CHAIN_SUBDIR: Record<BitcoinChain, string> = {
  mainnet: '',
  testnet: 'testnet3',
  signet: 'signet',
  regtest: 'regtest',
};

/** Host side of the node's /data (the instance's docker disk: re-derivable, never backed up). */
export const BITCOIN_DATA_DIR = '/var/lib/docker/ssw-chain/bitcoin';
export const BTCPAY_DATA_ROOT = `${DEFAULT_DATA_PATH}/btcpayserver`;
export const BTCPAY_DATA_DIRS = {
  postgres: `${BTCPAY_DATA_ROOT}/postgres`,
  nbxplorer: `${BTCPAY_DATA_ROOT}/nbxplorer`,
  btcpay: `${BTCPAY_DATA_ROOT}/btcpay`,
  clightning: `${BTCPAY_DATA_ROOT}/clightning`,
  lnd: `${BTCPAY_DATA_ROOT}/lnd`,
} as const;

/** Container names as the fragments name them. */
export const BITCOIN_CONTAINER = 'btcpayserver_bitcoind';
export const BTCPAY_POSTGRES_CONTAINER = 'generated_postgres_1';
export const NBXPLORER_CONTAINER = 'generated_nbxplorer_1';
export const BTCPAY_CONTAINER = 'generated_btcpayserver_1';
export const CLIGHTNING_CONTAINER = 'btcpayserver_clightning_bitcoin';
export const LND_CONTAINER = 'btcpayserver_lnd_bitcoin';

/** The CLN websocket's port on the instance, per chain, as ss (signet, not in ss, gets testnet's). */
export const CLIGHTNING_WEBSOCKET_PORT: Record<BitcoinChain, number> = {
  regtest: 9736,
  testnet: 9737,
  signet: 9737,
  mainnet: 9738,
};

/** opt-save-storage-s.yml's prune=50000 (MB); regtest unpruned. */
export const BITCOIN_PRUNE_MB: Record<BitcoinChain, number | undefined> = {
  regtest: undefined,
  testnet: 50000,
  signet: 50000,
  mainnet: 50000,
};
