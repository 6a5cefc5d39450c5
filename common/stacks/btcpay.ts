import { BTCPAY_STACKS } from '../bitcoin/stacks';
import type { BitcoinChain, DeploymentConfig } from '../config';
import { DEFAULT_DATA_PATH } from '../hosts';
import { SECRET_FILE_OWNER, withSecretFiles } from './secrets';
import { LABEL_ROLE, type ContainerSpec, type StackSpec } from './spec';

/**
 * The BTCPay stack's constants (issue 16), from btcpayserver/btcpayserver-docker's fragments
 * (docker-compose-generator/docker-fragments/) and farscapian/sovereign-stack's
 * deployment/project/btcpayserver/stub_btcpay_setup.sh, and the stacks rendered from them (btcpayStacks).
 */

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
  plugins: `${BTCPAY_DATA_ROOT}/plugins`,
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

/** The Docker network the BTCPay containers share (btcpayserver-docker's default network, renamed to say whose). */
export const BTCPAY_NETWORK = 'btcpayserver-net';
/** The stacks on the btcpayserver instance, in deploy order: the node first (the chain-sync wait follows it). */
export { BTCPAY_STACKS };
/** Where NBXplorer leaves `btc_fully_synched` (LIGHTNINGD_READY_FILE waits for it). */
const NBXPLORER_DATA = '/datadir';
/** BTCPay's and NBXplorer's database names, as btcpayserver-docker's (per chain). */
const dbName = (app: 'btcpayserver' | 'nbxplorer', chain: BitcoinChain) => `${app}${networkName(chain)}`;

/** NBITCOIN_NETWORK: the names btcpayserver-docker's images take (signet as testnet's kin is its own name there). */
export function networkName(chain: BitcoinChain): string {
  return chain;
}

/** The node's datadir subdirectory for the chain (blocks/, chainstate/, .cookie) on the instance. */
export function chainDir(chain: BitcoinChain): string {
  const sub = BITCOIN_CHAIN_SUBDIR[chain];
  return sub ? `${BITCOIN_DATA_DIR}/${sub}` : BITCOIN_DATA_DIR;
}

/** BTCPay's own host name: btcpay.<primary domain> (BTCPAY_HOSTNAME_IN_CERT). */
export function btcpayFqdn(config: DeploymentConfig): string {
  return `${config.project.hostnames.btcpayInCert}.${config.project.primaryDomain}`;
}

const conf = (lines: (string | false | undefined)[]) => `${lines.filter(Boolean).join('\n')}\n`;

/** The node: btcpayserver/bitcoin as bitcoincore.yml runs it, pruned as opt-save-storage-s, with ss's peers. */
function bitcoinContainer(config: DeploymentConfig): ContainerSpec {
  const chain = config.project.bitcoinChain;
  const b = config.project.btcpay;
  const prune = BITCOIN_PRUNE_MB[chain];
  return {
    name: BITCOIN_CONTAINER,
    image: b.images.bitcoin,
    env: {
      BITCOIN_NETWORK: networkName(chain),
      CREATE_WALLET: 'false',
      BITCOIN_WALLETDIR: '/walletdata',
      BITCOIN_EXTRA_ARGS: conf([
        `rpcport=${BITCOIN_RPC_PORT}`,
        `rpcbind=0.0.0.0:${BITCOIN_RPC_PORT}`,
        // The RPC is reached from this network's containers and through the published loopback port only.
        'rpcallowip=0.0.0.0/0',
        `port=${BITCOIN_P2P_PORT}`,
        'whitelist=0.0.0.0/0',
        'maxmempool=500',
        'mempoolfullrbf=1',
        prune !== undefined && `prune=${prune}`,
        // LND reads blocks and transactions from ZMQ (bitcoin-lnd.yml); Core Lightning asks the RPC.
        b.lightning === 'lnd' && 'zmqpubrawblock=tcp://0.0.0.0:28332',
        b.lightning === 'lnd' && 'zmqpubrawtx=tcp://0.0.0.0:28333',
        ...b.peers.map((p) => `connect=${p}`),
      ]),
    },
    volumes: [
      { host: BITCOIN_DATA_DIR, container: '/data' },
      { host: `${BTCPAY_DATA_ROOT}/bitcoin-wallet`, container: '/walletdata' },
    ],
    networks: [{ name: BTCPAY_NETWORK, aliases: ['bitcoind'] }],
    ports: [
      // The RPC only on the instance's loopback (the chain-sync wait asks it through SSH); P2P for the world.
      { hostIp: '127.0.0.1', host: BITCOIN_RPC_PORT, container: BITCOIN_RPC_PORT },
      { hostIp: '0.0.0.0', host: BITCOIN_P2P_PORT, container: BITCOIN_P2P_PORT },
    ],
    labels: { [LABEL_ROLE]: 'node' },
    // One bitcoind per datadir: its lock file refuses a second.
    startBeforeStop: false,
  };
}

const postgresConnection = (app: 'btcpayserver' | 'nbxplorer', database: string, pool: number, domain: string) => ({
  secret: 'BTCPAY_POSTGRES_PASSWORD',
  domain,
  format: `User ID=postgres;Password={};Host=postgres;Port=5432;Application Name=${app};MaxPoolSize=${pool};Database=${database}`,
});

function postgresContainer(config: DeploymentConfig): ContainerSpec {
  return withSecretFiles(
    {
      name: BTCPAY_POSTGRES_CONTAINER,
      image: config.project.btcpay.images.postgres,
      env: {},
      // PostgreSQL 18's images keep their data under /var/lib/postgresql (one directory per major version).
      volumes: [{ host: BTCPAY_DATA_DIRS.postgres, container: '/var/lib/postgresql' }],
      networks: [{ name: BTCPAY_NETWORK, aliases: ['postgres'] }],
      command: ['-c', 'random_page_cost=1.0', '-c', 'shared_preload_libraries=pg_stat_statements'],
      healthcheck: {
        test: ['CMD-SHELL', 'pg_isready -U postgres'],
        intervalS: 5,
        timeoutS: 5,
        retries: 12,
        startPeriodS: 60,
      },
      labels: { [LABEL_ROLE]: 'database' },
      startBeforeStop: false,
    },
    SECRET_FILE_OWNER.postgres,
    { POSTGRES_PASSWORD_FILE: { secret: 'BTCPAY_POSTGRES_PASSWORD', domain: config.project.primaryDomain } },
  );
}

function nbxplorerContainer(config: DeploymentConfig): ContainerSpec {
  const chain = config.project.bitcoinChain;
  const domain = config.project.primaryDomain;
  return {
    name: NBXPLORER_CONTAINER,
    image: config.project.btcpay.images.nbxplorer,
    env: {
      NBXPLORER_NETWORK: networkName(chain),
      NBXPLORER_BIND: `0.0.0.0:${NBXPLORER_PORT}`,
      NBXPLORER_TRIMEVENTS: '10000',
      NBXPLORER_SIGNALFILESDIR: NBXPLORER_DATA,
      NBXPLORER_POSTGRES: postgresConnection('nbxplorer', dbName('nbxplorer', chain), 20, domain),
      NBXPLORER_AUTOMIGRATE: '1',
      NBXPLORER_NOMIGRATEEVTS: '1',
      NBXPLORER_DELETEAFTERMIGRATION: '1',
      NBXPLORER_CHAINS: 'btc',
      NBXPLORER_BTCRPCURL: `http://bitcoind:${BITCOIN_RPC_PORT}/`,
      NBXPLORER_BTCNODEENDPOINT: `bitcoind:${BITCOIN_P2P_PORT}`,
    },
    volumes: [
      { host: BTCPAY_DATA_DIRS.nbxplorer, container: NBXPLORER_DATA },
      // The node's cookie, read-only: NBXplorer authenticates to the RPC with it.
      { host: BITCOIN_DATA_DIR, container: '/root/.bitcoin', readOnly: true },
    ],
    networks: [{ name: BTCPAY_NETWORK, aliases: ['nbxplorer'] }],
    labels: { [LABEL_ROLE]: 'app' },
    startBeforeStop: false,
  };
}

function lightningConnection(config: DeploymentConfig): string {
  return config.project.btcpay.lightning === 'lnd'
    ? 'type=lnd-rest;server=https://lnd_bitcoin:8080/;macaroonfilepath=/etc/lnd_bitcoin/admin.macaroon;allowinsecure=true'
    : 'type=clightning;server=unix://etc/clightning_bitcoin/lightning-rpc';
}

function btcpayContainer(config: DeploymentConfig): ContainerSpec {
  const chain = config.project.bitcoinChain;
  const domain = config.project.primaryDomain;
  const lnd = config.project.btcpay.lightning === 'lnd';
  return {
    name: BTCPAY_CONTAINER,
    image: config.project.btcpay.images.btcpay,
    env: {
      BTCPAY_POSTGRES: postgresConnection('btcpayserver', dbName('btcpayserver', chain), 20, domain),
      BTCPAY_EXPLORERPOSTGRES: postgresConnection('btcpayserver', dbName('nbxplorer', chain), 80, domain),
      BTCPAY_NETWORK: networkName(chain),
      BTCPAY_BIND: `0.0.0.0:${BTCPAY_PORT}`,
      BTCPAY_ROOTPATH: '/',
      BTCPAY_HOST: btcpayFqdn(config),
      BTCPAY_ADDITIONALHOSTS: config.sites.flatMap((s) => s.btcpayAltNames.map((n) => `${n}.${s.domain}`)).join(','),
      BTCPAY_DEBUGLOG: 'btcpay.log',
      BTCPAY_DOCKERDEPLOYMENT: 'true',
      BTCPAY_CHAINS: 'btc',
      BTCPAY_BTCEXPLORERURL: `http://nbxplorer:${NBXPLORER_PORT}/`,
      BTCPAY_BTCLIGHTNING: lightningConnection(config),
      // ss's proxy terminates TLS and forwards the client's scheme and address.
      ASPNETCORE_FORWARDEDHEADERS_ENABLED: 'true',
    },
    volumes: [
      { host: BTCPAY_DATA_DIRS.btcpay, container: '/datadir' },
      { host: BTCPAY_DATA_DIRS.nbxplorer, container: '/root/.nbxplorer', readOnly: true },
      { host: BTCPAY_DATA_DIRS.plugins, container: '/root/.btcpayserver/Plugins' },
      lnd
        ? { host: BTCPAY_DATA_DIRS.lnd, container: '/etc/lnd_bitcoin', readOnly: true }
        : { host: BTCPAY_DATA_DIRS.clightning, container: '/etc/clightning_bitcoin' },
    ],
    networks: [{ name: BTCPAY_NETWORK, aliases: ['btcpayserver'] }],
    // The www instance's nginx reaches BTCPay on the instance's port 80 over the deployment network.
    ports: [{ hostIp: '0.0.0.0', host: 80, container: BTCPAY_PORT }],
    labels: { [LABEL_ROLE]: 'app' },
    startBeforeStop: false,
  };
}

/** Core Lightning as bitcoin-clightning.yml runs it, with ss's additions (websocket, offers, peer storage). */
function clightningContainer(config: DeploymentConfig): ContainerSpec {
  const chain = config.project.bitcoinChain;
  const fqdn = btcpayFqdn(config);
  return {
    name: CLIGHTNING_CONTAINER,
    image: config.project.btcpay.images.clightning,
    env: {
      LIGHTNINGD_NETWORK: networkName(chain),
      LIGHTNINGD_CHAIN: 'btc',
      LIGHTNINGD_ALIAS: config.project.primaryDomain,
      LIGHTNINGD_ANNOUNCEADDR: fqdn,
      LIGHTNINGD_PORT: '9735',
      // It starts once NBXplorer says the chain is synced.
      LIGHTNINGD_READY_FILE: '/root/.nbxplorer/btc_fully_synched',
      LIGHTNINGD_OPT: conf([
        'bitcoin-datadir=/etc/bitcoin',
        'bitcoin-rpcconnect=bitcoind',
        'announce-addr-dns=true',
        'bind-addr=ws::9736',
        'experimental-peer-storage',
        'experimental-offers',
        // ss left this commented out; the btcpayserver/lightning image ships clboss there.
        config.project.btcpay.clboss && 'plugin=/root/.lightning/plugins/clboss',
      ]),
    },
    volumes: [
      { host: BTCPAY_DATA_DIRS.clightning, container: '/root/.lightning' },
      { host: BITCOIN_DATA_DIR, container: '/etc/bitcoin', readOnly: true },
      { host: BTCPAY_DATA_DIRS.nbxplorer, container: '/root/.nbxplorer', readOnly: true },
    ],
    networks: [{ name: BTCPAY_NETWORK, aliases: ['clightning_bitcoin'] }],
    ports: [
      { hostIp: '0.0.0.0', host: 9735, container: 9735 },
      { hostIp: '0.0.0.0', host: CLIGHTNING_WEBSOCKET_PORT[chain], container: 9736 },
    ],
    labels: { [LABEL_ROLE]: 'lightning' },
    // Two lightningd on one channel database would broadcast revoked states: never side by side.
    startBeforeStop: false,
  };
}

/** LND as bitcoin-lnd.yml runs it (BTCPAYGEN_LIGHTNING=lnd). */
function lndContainer(config: DeploymentConfig): ContainerSpec {
  const chain = config.project.bitcoinChain;
  return {
    name: LND_CONTAINER,
    image: config.project.btcpay.images.lnd,
    env: {
      LND_CHAIN: 'btc',
      LND_ENVIRONMENT: networkName(chain),
      LND_READY_FILE: '/root/.nbxplorer/btc_fully_synched',
      LND_ALIAS: config.project.primaryDomain,
      LND_EXTRA_ARGS: conf([
        'restlisten=0.0.0.0:8080',
        'rpclisten=127.0.0.1:10008',
        'rpclisten=0.0.0.0:10009',
        `externalip=${btcpayFqdn(config)}:9735`,
        'bitcoin.node=bitcoind',
        'bitcoind.rpchost=bitcoind:' + BITCOIN_RPC_PORT,
        'bitcoind.rpccookie=/deps/.bitcoin/' +
          (BITCOIN_CHAIN_SUBDIR[chain] ? `${BITCOIN_CHAIN_SUBDIR[chain]}/` : '') +
          '.cookie',
        'bitcoind.zmqpubrawblock=tcp://bitcoind:28332',
        'bitcoind.zmqpubrawtx=tcp://bitcoind:28333',
        'tlsextradomain=lnd_bitcoin',
        'protocol.wumbo-channels=true',
      ]),
    },
    volumes: [
      { host: BTCPAY_DATA_DIRS.lnd, container: '/data' },
      { host: BITCOIN_DATA_DIR, container: '/deps/.bitcoin', readOnly: true },
      { host: BTCPAY_DATA_DIRS.nbxplorer, container: '/root/.nbxplorer', readOnly: true },
    ],
    networks: [{ name: BTCPAY_NETWORK, aliases: ['lnd_bitcoin'] }],
    ports: [{ hostIp: '0.0.0.0', host: 9735, container: 9735 }],
    labels: { [LABEL_ROLE]: 'lightning' },
    startBeforeStop: false,
  };
}

/**
 * The btcpayserver instance's stacks for the config, as btcpayserver-docker
 * generates them for ss's choices (BTCPAYGEN_CRYPTO1=btc, the chosen Lightning,
 * opt-save-storage-s; its nginx fragments excluded: ss's proxy on www terminates
 * TLS). Differences, on purpose: containers rather than compose; PostgreSQL with a
 * password (from a file) rather than trust; the node's RPC published on the
 * instance's loopback only; BTCPay's SSH-to-host feature off (BTCPAY_ENABLE_SSH=false
 * in ss too). Pure.
 */
export function btcpayStacks(config: DeploymentConfig): StackSpec[] {
  const lightning = config.project.btcpay.lightning === 'lnd' ? lndContainer(config) : clightningContainer(config);
  // The root first: directories are made by root and handed to the instance's user one by one, parents included.
  const dirs = [
    BTCPAY_DATA_ROOT,
    `${BTCPAY_DATA_ROOT}/bitcoin-wallet`,
    BTCPAY_DATA_DIRS.postgres,
    BTCPAY_DATA_DIRS.nbxplorer,
    BTCPAY_DATA_DIRS.btcpay,
    BTCPAY_DATA_DIRS.plugins,
    config.project.btcpay.lightning === 'lnd' ? BTCPAY_DATA_DIRS.lnd : BTCPAY_DATA_DIRS.clightning,
  ];
  return [
    {
      name: BTCPAY_STACKS.bitcoin,
      app: 'btcpay',
      networks: [BTCPAY_NETWORK],
      directories: [BITCOIN_DATA_DIR, BTCPAY_DATA_ROOT, `${BTCPAY_DATA_ROOT}/bitcoin-wallet`],
      containers: [bitcoinContainer(config)],
    },
    {
      name: BTCPAY_STACKS.server,
      app: 'btcpay',
      networks: [BTCPAY_NETWORK],
      directories: dirs,
      containers: [postgresContainer(config), nbxplorerContainer(config), btcpayContainer(config), lightning],
    },
  ];
}
