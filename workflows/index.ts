/** Every workflow the ssw worker runs. Workflow code only: no I/O, activity types only. */
export { certificateStatus } from './certificate-status';
export { checkHost } from './check-host';
export { deprovisionRemote } from './deprovision-remote';
export { provisionRemote } from './provision-remote';
export { renewCertificates } from './renew-certificates';
export { restoreCertificates } from './restore-certificates';
export { progressQuery } from './progress';
export { backupDeployment } from './backup-deployment';
export { restoreDeployment } from './restore-deployment';
export { restoreDrill } from './restore-drill';
export { deploymentUp } from './deployment-up';
export { deploymentDown } from './deployment-down';
export { showDeployment } from './show-deployment';
export { describeRemote } from './describe-remote';
export { chainSyncWait } from './chain-sync';
export { btcpayStatus } from './btcpay-status';
