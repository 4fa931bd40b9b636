/** simlab's Temporal search attributes: find runs by organization, task or status in the Web UI. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SA = {
  organization: defineSearchAttributeKey('SimlabOrganization', SearchAttributeType.KEYWORD),
  product: defineSearchAttributeKey('SimlabProduct', SearchAttributeType.KEYWORD),
  task: defineSearchAttributeKey('SimlabTask', SearchAttributeType.KEYWORD),
  environment: defineSearchAttributeKey('SimlabEnvironment', SearchAttributeType.KEYWORD),
  iteration: defineSearchAttributeKey('SimlabIteration', SearchAttributeType.KEYWORD),
  runStatus: defineSearchAttributeKey('SimlabRunStatus', SearchAttributeType.KEYWORD),
  experiment: defineSearchAttributeKey('SimlabExperiment', SearchAttributeType.KEYWORD),
  iterationNumber: defineSearchAttributeKey('SimlabIterationNumber', SearchAttributeType.INT),
} as const;
