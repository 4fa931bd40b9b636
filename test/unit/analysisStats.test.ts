/** The statistics of iteration results against published reference values. */
import { fisherExact, fisherMinimumP, histogram, holm, mean, meanInterval, quantile, studentTQuantile, welchTTest, wilson } from '../../analysis/stats';

describe('analysis statistics', () => {
  it('Wilson interval: 8 of 10 is [0.4902, 0.9433] (Wilson 1927; Newcombe 1998)', () => {
    const [lo, hi] = wilson(8, 10)!;
    expect(lo).toBeCloseTo(0.4902, 4);
    expect(hi).toBeCloseTo(0.9433, 4);
    expect(wilson(0, 10)![0]).toBe(0);
    expect(wilson(10, 10)![1]).toBe(1);
    expect(wilson(0, 0)).toBeNull();
  });

  it('Student t quantiles match the tables', () => {
    expect(studentTQuantile(0.975, 9)).toBeCloseTo(2.262157, 5);
    expect(studentTQuantile(0.975, 2)).toBeCloseTo(4.302653, 5);
    expect(studentTQuantile(0.975, 1000)).toBeCloseTo(1.962339, 5);
  });

  it("Welch's t test on R's sleep data: t = -1.8608, df = 17.776, p = 0.07939", () => {
    const g1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
    const g2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];
    const r = welchTTest(g1, g2)!;
    expect(r.statistic).toBeCloseTo(-1.8608, 4);
    expect(r.df).toBeCloseTo(17.776, 3);
    expect(r.pValue).toBeCloseTo(0.07939, 5);
    expect(welchTTest([1], [2, 3])).toBeNull();
    expect(welchTTest([5, 5], [5, 5])).toEqual({ statistic: null, pValue: 1 });
    expect(welchTTest([0, 0], [100, 100])).toBeNull();
  });

  it("Fisher's exact test: the lady tasting tea (p = 0.4857) and Wikipedia's dieting table (p = 0.002759)", () => {
    expect(fisherExact(3, 1, 1, 3).pValue).toBeCloseTo(0.4857, 4);
    expect(fisherExact(1, 9, 11, 3).pValue).toBeCloseTo(0.002759, 6);
    expect(fisherExact(5, 0, 5, 0).pValue).toBe(1);
    // 3 of 3 against 0 of 3 is the most extreme table of that size, and still p = 0.1.
    expect(fisherMinimumP(3, 3)).toBeCloseTo(0.1, 10);
    expect(fisherMinimumP(5, 5)).toBeCloseTo(0.007937, 6);
  });

  it("t interval for a mean: R's t.test(sleep group 1) gives [-0.5297804, 2.0297804]", () => {
    const [lo, hi] = meanInterval([0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0])!;
    expect(lo).toBeCloseTo(-0.5297804, 6);
    expect(hi).toBeCloseTo(2.0297804, 6);
    expect(meanInterval([3])).toBeNull();
  });

  it('Holm adjustment keeps order and monotonicity', () => {
    const adj = holm([0.01, 0.04, 0.03, 0.005]);
    expect(adj.map((p) => Number(p.toFixed(6)))).toEqual([0.03, 0.06, 0.06, 0.02]);
    expect(holm([])).toEqual([]);
  });

  it('descriptives: median, p90 (type 7), histogram', () => {
    const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(mean(xs)).toBe(5.5);
    expect(quantile(xs, 0.5)).toBe(5.5);
    expect(quantile(xs, 0.9)).toBeCloseTo(9.1, 10);
    expect(histogram([0, 0, 10], 2)).toEqual({ edges: [0, 5, 10], counts: [2, 1] });
    expect(histogram([4, 4])).toEqual({ edges: [4, 4], counts: [2] });
    expect(histogram([])).toBeNull();
  });
});
