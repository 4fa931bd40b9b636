import type { Redactor } from '../domain/redact';
import type { TranscriptWriter } from './types';

/** Everything a step appends to the transcript passes through the run's redactor. */
export function redactingWriter(w: TranscriptWriter, redactor: Redactor): TranscriptWriter {
  if (redactor.empty) return w;
  return { append: (...events) => w.append(...events.map((e) => ({ ...e, data: redactor.redactDeep(e.data) }))) };
}
