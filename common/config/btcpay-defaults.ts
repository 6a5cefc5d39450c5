/**
 * The BTCPay stack's default images, as btcpayserver/btcpayserver-docker's fragments
 * (docker-compose-generator/docker-fragments/) pin them; each is overridable in project.conf.
 */
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
