import type { Migration } from 'kysely';
import * as createLevel from './0001-create-level.ts';
import * as createContents from './0002-create-contents.ts';
import * as createUpdateHistory from './0003-create-update-history.ts';
import * as indexHistoryCid from './0004-index-history-cid.ts';
import * as uniqueFilename from './0005-unique-filename.ts';
import * as createDeployment from './0006-create-deployment.ts';
import * as createAuditLog from './0007-create-audit-log.ts';
import * as indexAuditLogAt from './0008-index-audit-log-at.ts';
import * as createContentPin from './0009-create-content-pin.ts';
import * as levelCapacity from './0010-level-capacity.ts';
import * as contentsSize from './0011-contents-size.ts';
import * as historyReason from './0012-history-reason.ts';
import * as createTierUsage from './0013-create-tier-usage.ts';
import * as createTierReservation from './0014-create-tier-reservation.ts';
import * as historyDecision from './0015-history-decision.ts';
import * as indexHistoryTime from './0016-index-history-time.ts';

/**
 * Every migration, by name; names sort in the order they run.
 * DDL is not transactional on MySQL, so each migration makes one change and is safe to re-run.
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '0001-create-level': createLevel,
  '0002-create-contents': createContents,
  '0003-create-update-history': createUpdateHistory,
  '0004-index-history-cid': indexHistoryCid,
  '0005-unique-filename': uniqueFilename,
  '0006-create-deployment': createDeployment,
  '0007-create-audit-log': createAuditLog,
  '0008-index-audit-log-at': indexAuditLogAt,
  '0009-create-content-pin': createContentPin,
  '0010-level-capacity': levelCapacity,
  '0011-contents-size': contentsSize,
  '0012-history-reason': historyReason,
  '0013-create-tier-usage': createTierUsage,
  '0014-create-tier-reservation': createTierReservation,
  '0015-history-decision': historyDecision,
  '0016-index-history-time': indexHistoryTime,
});
