import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import type { OperationTarget } from './operations';

/**
 * ssw's custom search attributes. Their values are visible in clear text to
 * anyone who can list workflows, so only names go here — never secrets.
 * Pure: imported by workflows too.
 */
export const SsRemote = defineSearchAttributeKey('SsRemote', SearchAttributeType.KEYWORD);
export const SsDeployment = defineSearchAttributeKey('SsDeployment', SearchAttributeType.KEYWORD);
export const SsOperation = defineSearchAttributeKey('SsOperation', SearchAttributeType.KEYWORD);
export const SsSite = defineSearchAttributeKey('SsSite', SearchAttributeType.KEYWORD);

/** Every one of them, in the order the embedded server registers them. */
export const SEARCH_ATTRIBUTES = [SsRemote, SsDeployment, SsOperation, SsSite] as const;
export const SEARCH_ATTRIBUTE_NAMES = SEARCH_ATTRIBUTES.map((k) => k.name);

/**
 * How a run of `operation` on `target` is tagged: set when the CLI starts it, by
 * a Schedule's action, and upserted by the workflow itself (runs started by hand).
 */
export function operationSearchAttributes(operation: string, target: OperationTarget): SearchAttributePair[] {
  return [
    { key: SsOperation, value: operation },
    { key: SsRemote, value: target.remote },
    ...(target.deployment ? [{ key: SsDeployment, value: target.deployment }] : []),
    ...(target.site ? [{ key: SsSite, value: target.site }] : []),
  ];
}

export { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from './defaults';
