/** Every workflow the ssw worker runs. Workflow code only: no I/O, activity types only. */
export { checkHost } from './check-host';
export { deprovisionRemote } from './deprovision-remote';
export { provisionRemote } from './provision-remote';
export { progressQuery } from './progress';
