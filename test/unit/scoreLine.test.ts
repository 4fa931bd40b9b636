import { scoreLine } from '../../criteria/scriptRunner';
import { EvaluationError } from '../../domain/errors';

describe("a criterion script's score line", () => {
  it('is the last non-empty line, a JSON object with a numeric score', () => {
    expect(scoreLine('checking...\n{"score": 7.5, "reason": "3 of 4"}\n\n', 10)).toEqual({ score: 7.5, reason: '3 of 4' });
    expect(scoreLine('{"score": 0}', 10)).toEqual({ score: 0 });
    expect(scoreLine('{"score": 10}', 10)).toEqual({ score: 10 });
  });

  it('is absent when the last line is anything else, so the exit code decides', () => {
    expect(scoreLine('', 10)).toBeNull();
    expect(scoreLine('{"score": 3}\nall good', 10)).toBeNull();
    expect(scoreLine('{"score": "3"}', 10)).toBeNull();
    expect(scoreLine('{not json', 10)).toBeNull();
  });

  it("is the script's error when the score is outside 0..maxScore", () => {
    expect(() => scoreLine('{"score": 11}', 10)).toThrow(EvaluationError);
    expect(() => scoreLine('{"score": -1}', 10)).toThrow('outside 0..10');
  });
});
