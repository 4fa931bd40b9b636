// The workflow bundle's entry: every workflow type the worker registers.
export { runWorkflow } from './run';
export { iterationWorkflow } from './iteration';
export { scheduledIterationWorkflow } from './scheduled';
export { regressionAlertWorkflow } from './alerts';
