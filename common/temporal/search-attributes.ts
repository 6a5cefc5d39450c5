import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * ssw's custom search attributes. Their values are visible in clear text to
 * anyone who can list workflows, so only names go here — never secrets.
 * Pure: imported by workflows too.
 */
export const SsRemote = defineSearchAttributeKey('SsRemote', SearchAttributeType.KEYWORD);
export const SsDeployment = defineSearchAttributeKey('SsDeployment', SearchAttributeType.KEYWORD);
export const SsOperation = defineSearchAttributeKey('SsOperation', SearchAttributeType.KEYWORD);
export const SsSite = defineSearchAttributeKey('SsSite', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_NAMES = ['SsRemote', 'SsDeployment', 'SsOperation', 'SsSite'] as const;

export { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from './defaults';
