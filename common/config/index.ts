/**
 * Sovereign Stack's config files under $SS_ROOT (remote.conf, project.conf,
 * site.conf), read without a shell, validated strictly, with ss's defaults.
 * Typed results use camelCase fields; see load.ts for the key each maps to.
 */
export { parseConfFile } from './parse';
export {
  loadDeploymentConfig,
  loadProjectConfig,
  loadRemoteConfig,
  loadSiteConfig,
  linkedDeployments,
  remoteDeployments,
  type DeploymentConfig,
  type DiskSizesGb,
  type InstanceConfig,
  type ProjectConfig,
  type RemoteConfig,
  type SiteConfig,
} from './load';
export type { DeploymentEntry, InstanceType, LightningImpl } from './schema';
export { BTCPAY_IMAGE_DEFAULTS } from './btcpay-defaults';
export {
  BITCOIN_CHAINS,
  hasShellSyntax,
  isAbsolutePath,
  isAcmeServer,
  isBitcoinChain,
  isDnsLabel,
  isDomainName,
  isLanguageCode,
  isMacAddress,
  macUnusable,
  isName,
  isSecretKey,
  validateDomainName,
  validateName,
  isHostAddress,
  validateHostAddress,
  type BitcoinChain,
} from './validators';
