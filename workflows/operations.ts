import type { OPERATIONS, OperationName } from '../common/temporal/operations';
import type * as workflows from './index';

/**
 * The workflow function each operation of common/temporal/operations.ts
 * starts, found by its `workflowType`: a type name that is not an exported
 * workflow fails to compile here. Types only: the client imports these
 * without loading any workflow code.
 */
type Workflows = typeof workflows;
type WorkflowTypeOf<K extends OperationName> = (typeof OPERATIONS)[K]['workflowType'];

export type OperationWorkflow<K extends OperationName> = Workflows[WorkflowTypeOf<K>];
/** What the operation's workflow takes (every ssw workflow takes one input object). */
export type OperationInput<K extends OperationName> = Parameters<OperationWorkflow<K>>[0];
/** What the operation's workflow returns. */
export type OperationResult<K extends OperationName> = Awaited<ReturnType<OperationWorkflow<K>>>;

// Every workflowType names an exported workflow of one input: this fails to compile otherwise.
type NamesAWorkflow<K extends OperationName> = Workflows[WorkflowTypeOf<K>] extends (input: never) => Promise<unknown>
  ? true
  : false;
type MustBe<T extends true> = T;
export type EveryOperationNamesAWorkflow = MustBe<NamesAWorkflow<OperationName>>;
