import { describe, expect, it } from 'vitest';
import { ABUSE_LOG_INTERVAL_MS, warnAbuse } from '../../../src/broker/abuse-log.js';
import { recordingLogger } from '../../helpers/recording-logger.js';

describe('warnAbuse (clock injected)', () => {
  it('logs one line per kind per interval by default, the next carrying how many were suppressed', () => {
    const logger = recordingLogger();
    for (let t = 0; t < 5; t++) warnAbuse(logger, 'flood', { t }, 'refused', t);
    warnAbuse(logger, 'other', {}, 'other kind', 5);
    warnAbuse(logger, 'flood', { t: 'later' }, 'refused', ABUSE_LOG_INTERVAL_MS);
    expect(logger.warnings).toEqual([
      { fields: { t: 0 }, message: 'refused' },
      { fields: {}, message: 'other kind' },
      { fields: { t: 'later', suppressed: 4 }, message: 'refused' },
    ]);
  });

  it('allows a budget of lines per interval', () => {
    const logger = recordingLogger();
    for (let t = 0; t < 10; t++) warnAbuse(logger, 'auth', { t }, 'refused', t, 3);
    warnAbuse(logger, 'auth', { t: 'next' }, 'refused', ABUSE_LOG_INTERVAL_MS, 3);
    expect(logger.warnings.map((w) => w.fields)).toEqual([{ t: 0 }, { t: 1 }, { t: 2 }, { t: 'next', suppressed: 7 }]);
  });
});
