/** Pure parts of schedules and webhooks: cron and time zone checks, ids, target policy, signing, alert bodies. */
import { cronViolations, timezoneViolations } from '../../schedules/cron';
import { scheduleIdFor } from '../../schedules/ids';
import { isPrivateAddress, webhookUrlProblem } from '../../schedules/webhookTarget';
import { signBody, verifySignature } from '../../schedules/webhookSigning';
import { alertBody, shouldAlert } from '../../schedules/regressionSummary';

describe('cron expressions', () => {
  it.each(['0 2 * * *', '*/15 * * * *', '0 9-17/2 * * MON-FRI', '30 4 1,15 JAN,jul *', '0 0 * * 7', '@daily', '@Hourly', '  5 4 * * sun  '])('accepts %s', (c) => {
    expect(cronViolations(c)).toEqual([]);
  });
  it.each([
    ['0 25 * * *', "field 2 (hour) '25'"],
    ['60 * * * *', "field 1 (minute) '60'"],
    ['0 2 * *', '5 fields'],
    ['0 2 * * * *', 'not 6'],
    ['0 2 0 * *', 'field 3 (day of month)'],
    ['0 2 * 13 *', 'field 4 (month)'],
    ['0 2 * * FUNDAY', 'field 5 (day of week)'],
    ['0 5-2 * * *', 'runs backwards'],
    ['*/0 * * * *', 'step 0'],
    ['0 2 * * 1-2-3', 'not N or N-M'],
    ['@fortnightly', 'not a known macro'],
    ['', 'must be a cron expression'],
  ])('refuses %j, naming the part (%s)', (c, says) => {
    const v = cronViolations(c);
    expect(v).toHaveLength(1);
    expect(v[0]!.pointer).toBe('/cron');
    expect(v[0]!.message).toContain(says);
  });
  it('refuses what is not a string', () => {
    expect(cronViolations(42)[0]!.pointer).toBe('/cron');
    expect(cronViolations('1 '.repeat(150))[0]!.message).toContain('at most');
  });
});

describe('time zones', () => {
  it.each(['UTC', 'Europe/Paris', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5'])('accepts %s', (tz) => expect(timezoneViolations(tz)).toEqual([]));
  it.each(['Mars/Olympus', 'Europe/Pariss', '', 'Europe/Paris; rm -rf', 7])('refuses %j', (tz) => {
    expect(timezoneViolations(tz)).toEqual([{ pointer: '/timezone', message: expect.any(String) }]);
  });
});

describe('schedule ids', () => {
  it('are derived from the experiment, the cron (spacing aside) and the time zone', () => {
    const a = scheduleIdFor({ experimentId: 'exp_1', cron: '0 2 * * *', timezone: 'UTC' });
    expect(a).toMatch(/^sch_[0-9a-f]{20}$/);
    expect(scheduleIdFor({ experimentId: 'exp_1', cron: ' 0  2 * * * ', timezone: 'UTC' })).toBe(a);
    expect(scheduleIdFor({ experimentId: 'exp_2', cron: '0 2 * * *', timezone: 'UTC' })).not.toBe(a);
    expect(scheduleIdFor({ experimentId: 'exp_1', cron: '0 3 * * *', timezone: 'UTC' })).not.toBe(a);
    expect(scheduleIdFor({ experimentId: 'exp_1', cron: '0 2 * * *', timezone: 'Europe/Paris' })).not.toBe(a);
  });
});

describe('webhook targets', () => {
  it.each(['127.0.0.1', '127.9.9.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd00:ec2::254', 'fe80::1', '::ffff:127.0.0.1', '::ffff:169.254.169.254', '224.0.0.1'])(
    '%s is private',
    (a) => expect(isPrivateAddress(a)).toBe(true),
  );
  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', 'example.com'])('%s is not', (a) => expect(isPrivateAddress(a)).toBe(false));

  it('refuses private, metadata and local names unless allowed, and odd URLs always', () => {
    for (const url of ['http://127.0.0.1:9000/hook', 'http://169.254.169.254/latest/meta-data', 'https://[::1]/x', 'http://localhost/x', 'http://api.localhost/x', 'http://metadata.google.internal/x', 'http://10.0.0.5/x']) {
      expect(webhookUrlProblem(url, false)).toContain('SIMLAB_WEBHOOK_ALLOW_PRIVATE');
      expect(webhookUrlProblem(url, true)).toBeNull();
    }
    expect(webhookUrlProblem('https://hooks.example.com/simlab', false)).toBeNull();
    expect(webhookUrlProblem('ftp://example.com/x', true)).toContain('https or http');
    expect(webhookUrlProblem('https://user:pw@example.com/x', true)).toContain('user name or password');
    expect(webhookUrlProblem('not a url', true)).toContain('not a valid URL');
    expect(webhookUrlProblem(`https://example.com/${'a'.repeat(3000)}`, true)).toContain('at most');
    expect(webhookUrlProblem(undefined, true)).toContain('http(s) URL');
  });
});

describe('signatures', () => {
  // Reference value: printf %s '{"a":1}' | openssl dgst -sha256 -hmac whsec_test
  it('are the hex HMAC-SHA256 of the exact body', () => {
    expect(signBody('whsec_test', '{"a":1}')).toBe('sha256=51426af50a41dd7ff2cd3f116594734766d4018d15d6fb07169aee5d2959adf5');
    expect(verifySignature('whsec_test', '{"a":1}', signBody('whsec_test', '{"a":1}'))).toBe(true);
    expect(verifySignature('whsec_test', '{"a":2}', signBody('whsec_test', '{"a":1}'))).toBe(false);
    expect(verifySignature('other', '{"a":1}', signBody('whsec_test', '{"a":1}'))).toBe(false);
    expect(verifySignature('whsec_test', '{"a":1}', undefined)).toBe(false);
  });
});

describe('alerts', () => {
  const regression = { taskId: 't', environmentId: 'e', variant: 'base', passRateDelta: -0.6, scoreDelta: -40, pValue: 0.01 };
  const cluster = { name: 'npm-install-eacces', rootCauseCategory: 'environment', rootCause: 'EACCES', recommendedFix: 'chown', runIds: Array.from({ length: 30 }, (_, i) => `run_${i}`) };
  it('are sent for a significant regression or a new cluster against an earlier iteration only', () => {
    const comparedWith = { iterationId: 'iter_1', number: 1 };
    expect(shouldAlert(null)).toBe(false);
    expect(shouldAlert({ comparedWith, regressions: [], newClusters: [] })).toBe(false);
    expect(shouldAlert({ comparedWith: null, regressions: [regression], newClusters: [] })).toBe(false);
    expect(shouldAlert({ comparedWith, regressions: [regression], newClusters: [] })).toBe(true);
    expect(shouldAlert({ comparedWith, regressions: [], newClusters: [cluster] })).toBe(true);
  });
  it('carry a bounded summary with the timestamp inside the signed body', () => {
    const body = JSON.parse(
      alertBody({ deliveryId: 'dlv_1', sentAt: new Date('2026-11-24T02:00:05Z'), experiment: { id: 'exp_1', name: 'nightly' }, iteration: { id: 'iter_2', number: 2 }, summary: { comparedWith: { iterationId: 'iter_1', number: 1 }, regressions: [regression], newClusters: [cluster] } }),
    );
    expect(body).toMatchObject({ event: 'iteration.regressed', deliveryId: 'dlv_1', sentAt: 1795485605, iteration: { number: 2 }, comparedWith: { number: 1 }, regressionCount: 1, newClusterCount: 1 });
    expect(body.newClusters[0].runIds).toHaveLength(20);
    expect(body.newClusters[0].runCount).toBe(30);
  });
});
