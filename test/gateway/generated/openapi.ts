export interface paths {
  '/metrics': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Prometheus metrics
     * @description Access: the viewer role (or operator) once API keys are configured; open while none are.
     */
    get: operations['getMetrics'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/healthz': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Liveness */
    get: operations['getHealth'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/readyz': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Readiness: Redis INFO and MySQL `select 1`
     * @description 503 NOT_READY names each problem: `redis is down (…)`, `redis is full (used X of maxmemory Y bytes)` (maxmemory reached under noeviction), `redis is read-only (a replica)`, `mysql is down (…)`.
     */
    get: operations['getReadiness'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/post_sentence': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Report a view count (legacy)
     * @description Records the latest total views of a content and queues its relocation when the count calls for another tier. Accepts a form (`cid=7&count=1964`) or JSON.
     *
     *     Access: open by default (the 2018 players send no credentials); LEGACY_ALLOW restricts it to listed networks (403 ADDRESS_NOT_ALLOWED), LEGACY_REQUIRE_KEY to the player role.
     */
    post: operations['postSentence'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/update_sentence': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Check whether a content has settled (legacy)
     * @description Answers the cid as text when no relocation is queued, running or failed for the content and MySQL holds the level its latest count calls for; else `check your status again`.
     *
     *     Access: open by default (the 2018 players send no credentials); LEGACY_ALLOW restricts it to listed networks (403 ADDRESS_NOT_ALLOWED), LEGACY_REQUIRE_KEY to the player role.
     */
    post: operations['updateSentence'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/views': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Report view counts
     * @description Send one `{"cid": 7, "count": 1964}` or a batch `[{"cid": 7, "count": 1964}, …]` of at most 1000 items. A single report answers its result (404 for an unknown cid); a batch answers `{"items": [...]}` with one entry per item, in order, where an item that failed has `status: "error"` and an `error` object. Counts are total views, so posting again is always safe.
     *
     *     Access: the player role (or operator) once API keys are configured; open while none are.
     */
    post: operations['postViews'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/contents': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * List stuck contents
     * @description Contents whose latest count calls for another tier while nothing is queued, running or delayed for them: nothing will move them unless someone acts (`POST /v1/contents/:cid/requeue`, `npm run content -- requeue <cid>`, or `npm run reconcile -- --fix`). The relocators' cache sweep finds them every CACHE_SYNC_EVERY; each is checked again here.
     *
     *     Access: the viewer role (or operator) once API keys are configured; open while none are.
     */
    get: operations['listContents'];
    put?: never;
    /**
     * Register a content
     * @description Registers a content on the default tier (the level starting at 0 views), as the seed's `insert_contents` did. The file name must be a plain base name. When the gateway sees the file in the default tier's directory (a regular file, never followed through a link), its size is recorded and counted in the tier's usage (`GET /v1/levels`); otherwise the content is registered with an unknown size (counted as 0 bytes until reconcile or the capacity sweep sizes it).
     *
     *     Access: the catalog role (or operator) once API keys are configured; open while none are.
     */
    post: operations['registerContent'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/contents/{cid}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Read a content and its relocation state
     * @description Level and file name as MySQL holds them, the latest count posted (else MySQL's), the operator's pin (null when none), and the relocation state: `idle`, `queued`, `active` or `failed` (with the target and the last error).
     *
     *     Access: the viewer role (or operator) once API keys are configured; open while none are.
     */
    get: operations['getContent'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/contents/{cid}/history': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Read a content's level changes
     * @description Its `update_history` rows, newest first, each with what triggered it (`reason`), the inputs of the decision (`decision`: count, boundary crossed, policy in force), the level table version and the request id of the post behind it; page with `limit` and `before`.
     *
     *     Access: the viewer role (or operator) once API keys are configured; open while none are.
     */
    get: operations['getContentHistory'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/contents/{cid}/level': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    /**
     * Set a content's level after a manual file move (admin)
     * @description Records that the content's file is on `level`, after an operator moved it by hand (instead of `UPDATE contents`). Checked first: the level exists (400 UNKNOWN_LEVEL); no relocation job of the content is active (409 RELOCATION_ACTIVE) and no move is pending (409 MOVE_PENDING); the level's directory is its tier (409 TIER_UNAVAILABLE); the file is a regular file in it (409 FILE_NOT_ON_TIER, naming what each tier holds). Then one MySQL transaction changes the level and writes an `update_history` row (job id `admin:<user>`), and the gateways' cache is updated. Repeating it changes nothing.
     *
     *     Access: the operator role: an operator API key, or the admin login (HTTP basic).
     */
    put: operations['setContentLevel'];
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/contents/{cid}/requeue': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Queue a content's relocation again (admin)
     * @description Queues the content's relocation from its latest count (posted, else MySQL's), even if its last job failed: 202 with the job when the count calls for another tier or a move is pending (a job already waiting for the content is reused), 200 `on-target` when nothing calls for a move.
     *
     *     Access: the operator role: an operator API key, or the admin login (HTTP basic).
     */
    post: operations['requeueContent'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/contents/{cid}/pending-move': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    post?: never;
    /**
     * Clear a content's stuck pending move after checking the files (admin)
     * @description Clears the move a relocator recorded for the content, only when the file is a regular file on exactly one of the move's two tiers (the move never happened, or it finished), and says where it is and, when that is not MySQL's level, the set-level command to run next. Refused while a job of the content is active (409 RELOCATION_ACTIVE), when a tier of the move cannot be checked (409 TIER_UNAVAILABLE), and when the file is on both tiers or neither (409 PENDING_MOVE_CONFLICT, with what was found). 404 NO_PENDING_MOVE when none is recorded.
     *
     *     Access: the operator role: an operator API key, or the admin login (HTTP basic).
     */
    delete: operations['clearPendingMove'];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/contents/{cid}/pin': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    /**
     * Pin a content to a level
     * @description Keeps the content on `level` whatever its counts say, until `until` (then the relocators release it) or `DELETE /v1/contents/:cid/pin`. When it is not on the level, its relocation is queued and it moves there once (`jobId`). Replaces a pin the content had. One MySQL transaction writes the pin and its audit entry (`content.pin`, with the reason and the operator). 400 UNKNOWN_LEVEL for a level not in the table, 400 INVALID_PIN for an `until` that is not in the future, 404 CONTENT_NOT_FOUND for an unknown cid.
     *
     *     Access: the operator role: an operator API key, or the admin login (HTTP basic).
     */
    put: operations['pinContent'];
    post?: never;
    /**
     * Release a content's pin
     * @description Releases the pin (audit entry `content.unpin`, with `reason` if given); when the content's latest count calls for another tier, its relocation is queued so that the count decides again. `released: false` when it was not pinned (nothing written). 404 CONTENT_NOT_FOUND for an unknown cid.
     *
     *     Access: the operator role: an operator API key, or the admin login (HTTP basic).
     */
    delete: operations['unpinContent'];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/levels': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Read the tier table
     * @description The levels (with `capacityBytes`, `highWatermark` and `lowWatermark` for a level that has a capacity), under `tiers` each tier directory as the relocators last checked it (missing, unmarked, or the last storage fault a move met there), and under `usage` each level's files and bytes from MySQL's counters (kept on every write of `contents`; no directory is walked), the bytes moves under way have reserved in it, its capacity and watermarks in bytes, the percent of its capacity in use and whether it is above its high watermark (moves into it wait as `waiting-for-space` and its coldest contents are demoted).
     *
     *     Access: the viewer role (or operator) once API keys are configured; open while none are.
     */
    get: operations['listLevels'];
    /**
     * Replace the tier table (admin)
     * @description Atomically replaces the whole table. It must partition the counts: start at 0, no gap, no overlap, only the last level unbounded, unique names and absolute paths in normal form. A level may have a capacity (`capacityBytes`, a positive whole number of bytes) with a `highWatermark` (whole percent 1-100, default 90) and a `lowWatermark` (whole percent below the high one, default 80, or 10 under a lower high watermark); no watermark without a capacity. A table breaking a rule is refused with 400 INVALID_LEVELS naming each level and rule (e.g. `invalid-capacity`). The answer lists the capacity fields only for the levels that have a capacity, with both watermarks filled in. Each level's directory must be its tier: existing and holding the marker of its level and this database; a missing or unmarked directory is refused (409 TIER_UNAVAILABLE) unless `?create=true`, which creates it and writes its marker. A level that contents still sit on, or that a pending move goes from or to, cannot be removed (409 LEVEL_IN_USE, naming the levels and the cids of the pending moves). Every gateway uses the new table from its next post.
     *
     *     Access: the operator role: an operator API key, or the admin login (HTTP basic).
     */
    put: operations['replaceLevels'];
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/audit': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Read the audit log of admin actions (admin)
     * @description Every admin action that was carried out (a level table replaced, a content level set, a relocation requeued, a pending move cleared, …): who, when, what, on what, the state before and after. Newest first; page with `limit` and `before` (the last id of the previous page); filter with `action` and `actor`. Refused actions are not recorded.
     *
     *     Access: the operator role: an operator API key, or the admin login (HTTP basic).
     */
    get: operations['listAuditEntries'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/relocations': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Where relocations stand (admin)
     * @description Paused or not, active, waiting, delayed and failed jobs, and the relocator replicas connected to the queue.
     *
     *     Access: the operator role: an operator API key, or the admin login (HTTP basic).
     */
    get: operations['getRelocations'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/relocations/pause': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Pause relocations on every relocator (admin)
     * @description No relocator starts a new move; active moves finish. Posts are still accepted, counted and queued; on resume the latest counts decide. With `?wait=SECONDS` it answers once no move is active (`drained: true`) or the time is up (`drained: false`): a drain, for maintenance of a tier disk.
     *
     *     Access: the operator role: an operator API key, or the admin login (HTTP basic).
     */
    post: operations['pauseRelocations'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/relocations/resume': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Resume relocations (admin)
     * @description Relocators start moves again; the latest counts decide what moves.
     *
     *     Access: the operator role: an operator API key, or the admin login (HTTP basic).
     */
    post: operations['resumeRelocations'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/plan': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Dry-run plan: what would move now
     * @description The contents whose latest posted count calls for another tier right now, read from the shared cache in one pass (SCAN with pipelined reads); nothing is written and no file moves. Decided as a post is (TIERING_HYSTERESIS and pins, or with TIERING_POLICY=rate the view rate decayed to now; the minimum residence and the flap budget are left to the relocator; `tiering` reports the policy in force). Contents with no post since the cache was filled are not in it: they have no latest count. `boundary` is the edge of the current level the count went past; `queued` says whether a job already waits. Ordered by cid and paged with `limit` and `after`; `totals` cover every page, per direction. Files are sized (lstat on their tier) for the listed page, or for every planned content with `?sizes=all`: `sized` says how many contents `bytes` covers.
     *
     *     Access: the viewer role (or operator) once API keys are configured; open while none are.
     */
    get: operations['getPlan'];
    put?: never;
    /**
     * Dry-run plan of a candidate level table
     * @description What would move if this level table (the body of `PUT /v1/levels`) were applied: the same rules are checked (400 INVALID_LEVELS names each level and rule) but nothing is stored; the files are sized where the table in force keeps them. A content on a level the candidate drops is listed as `unknown-current`. The contents whose latest posted count calls for another tier right now, read from the shared cache in one pass (SCAN with pipelined reads); nothing is written and no file moves. Decided as a post is (TIERING_HYSTERESIS and pins, or with TIERING_POLICY=rate the view rate decayed to now; the minimum residence and the flap budget are left to the relocator; `tiering` reports the policy in force). Contents with no post since the cache was filled are not in it: they have no latest count. `boundary` is the edge of the current level the count went past; `queued` says whether a job already waits. Ordered by cid and paged with `limit` and `after`; `totals` cover every page, per direction. Files are sized (lstat on their tier) for the listed page, or for every planned content with `?sizes=all`: `sized` says how many contents `bytes` covers.
     *
     *     Access: the viewer role (or operator) once API keys are configured; open while none are.
     */
    post: operations['planLevels'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/stats': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Overview: tiers, moves, queue, failed and stuck contents
     * @description One answer from the counters the service keeps, never a walk of the tier directories: contents and bytes per tier (MySQL's `tier_usage` counters), moves per minute and direction over the last hour (`update_history` by its time index; promote = to a level of higher minCount), the relocation jobs by state and whether relocations are paused (BullMQ), the newest failed contents and the stuck contents the relocators' cache sweep published (each with the link to its status), and the placement policy in force. `GET /admin` shows the same as a page.
     *
     *     Access: the viewer role (or operator) once API keys are configured; open while none are.
     */
    get: operations['getStats'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
}
export type webhooks = Record<string, never>;
export interface components {
  schemas: {
    LevelInput: {
      /** @description Tier name (content_level) */
      name: string;
      /** @description Lowest total views of the tier (inclusive) */
      minCount: number;
      /** @description Highest total views (inclusive); null = unbounded (top tier only) */
      maxCount: number | null;
      /** @description Absolute directory holding the tier's files */
      path: string;
      /** @description Capacity of the tier in bytes (a positive whole number); absent or null = no capacity limit (only a full disk stops moves). With it, no move goes into the tier past its high watermark, and the coldest contents are demoted once the tier is above it. Listed only for a level with a capacity, with both watermarks filled in */
      capacityBytes?: number | null;
      /** @description Percent of `capacityBytes` above which the tier takes no more files (a whole number from 1 to 100; default 90). Only with `capacityBytes` */
      highWatermark?: number | null;
      /** @description Percent of `capacityBytes` down to which a tier above its high watermark is emptied by demotions (a whole number from 0 to one below the high watermark; default 80, or 10 points under a lower high watermark). Only with `capacityBytes` */
      lowWatermark?: number | null;
    };
    /**
     * @example {
     *       "cid": "7",
     *       "count": "1964",
     *       "target": "silver",
     *       "db_level": "bronze",
     *       "filename": "g.mp4",
     *       "worker_id": null,
     *       "status": "update"
     *     }
     */
    LegacyPostResult: {
      cid: string;
      count: string;
      /** @description Tier the count calls for */
      target: string;
      /** @description Tier the content is on now */
      db_level: string;
      filename: string;
      /** @description Always null (kept for old clients) */
      worker_id: null;
      /**
       * @description `update`: a relocation is queued; `done`: the content is on its target
       * @enum {string}
       */
      status: 'update' | 'done';
    };
    /**
     * @example {
     *       "statusCode": 404,
     *       "code": "CONTENT_NOT_FOUND",
     *       "error": "Not Found",
     *       "message": "no content has cid 99"
     *     }
     */
    Error: {
      statusCode: number;
      /** @description Stable error code, e.g. INVALID_INPUT */
      code: string;
      /** @description HTTP reason phrase */
      error: string;
      /** @description What went wrong, naming the field */
      message: string;
    };
    ViewResult: {
      cid: number;
      count: number;
      /** @enum {string} */
      status: 'update' | 'done';
      /** @description Tier the content is on now */
      level: string;
      /** @description Tier the count calls for */
      target: string;
      filename: string;
      /** @description Relocation job that will act on this count, when one is queued or running */
      jobId: string | null;
    };
    ViewItemError: {
      cid: number;
      count: number;
      /** @constant */
      status: 'error';
      error: components['schemas']['Error'];
    };
    Content: {
      cid: number;
      /** @description Tier the content is on (MySQL) */
      level: string;
      filename: string;
      /** @description Latest count posted for the content, else the count MySQL holds */
      viewCount: number;
      /** Format: date-time */
      generateTime: string;
      /**
       * Format: date-time
       * @description Time of the last level change
       */
      updateTime: string;
    };
    RelocationState: {
      /**
       * @description `waiting`: the move is delayed by a storage fault (a full, read-only, missing or failing tier disk) and tries again at `hold.retryAt`; it never fails for it. `waiting-for-space`: its target tier would go above its high watermark (`hold.code` `TIER_AT_HIGH_WATERMARK`); it tries again at `hold.retryAt` and moves once demotions or other moves free space. `held`: the placement policy holds it back until `hold.retryAt` (`hold.code` `HELD_BY_RESIDENCE`: the minimum residence on its level; `HELD_BY_FLAP_BUDGET`: it changed tier as often as the flap budget allows in its window)
       * @enum {string}
       */
      state: 'idle' | 'queued' | 'active' | 'waiting' | 'waiting-for-space' | 'held' | 'failed';
      jobId: string | null;
      target: string | null;
      /** @description Failure reason of the last job, if it failed */
      error: string | null;
      /** @description Why the move waits (state `waiting`), else null */
      hold: {
        /** @description TIER_FULL, TIER_READ_ONLY, TIER_DENIED, TIER_IO_ERROR or TIER_UNAVAILABLE */
        code: string;
        message: string;
        /** @description The tier at fault, when known */
        level: string | null;
        /** @description When the move first waited (ISO time) */
        since: string;
        /** @description When it tries again (ISO time) */
        retryAt: string;
      } | null;
    };
    ContentPin: {
      /** @description The level the content is kept on */
      level: string;
      /** @description When the pin releases itself; null = when an operator releases it */
      until: string | null;
      reason: string;
      /** @description `admin:<user>` over HTTP, `cli:<login>` from the shell */
      pinnedBy: string;
      /** Format: date-time */
      pinnedAt: string;
    };
    ContentState: {
      cid: number;
      /** @description Tier the content is on (MySQL) */
      level: string;
      filename: string;
      /** @description Latest count posted for the content, else the count MySQL holds */
      viewCount: number;
      /** Format: date-time */
      generateTime: string;
      /**
       * Format: date-time
       * @description Time of the last level change
       */
      updateTime: string;
      relocation: components['schemas']['RelocationState'];
      /** @description The tier its latest count calls for (its pin level when pinned) */
      target: string;
      /** @description The operator's pin: the content stays on its level whatever its counts say */
      pin: components['schemas']['ContentPin'] | null;
      /** @description Nothing is pending and MySQL holds its final level (what `/update_sentence` answers with the cid) */
      settled: boolean;
      /** @description Why it is not settled, and what to do when nothing will settle it by itself (stuck); null when settled */
      reason: string | null;
      /** @description With `TIERING_POLICY=rate`: its view rate in views per hour as of now (decayed since its last post), which places it; null with the count policy or while the rate is still being measured */
      viewRate: number | null;
      /** @description The placement-policy rule keeping the content off the tier its count (or, with `TIERING_POLICY=rate`, its view rate) calls for: `hysteresis` (the count is past the boundary but within the band, or the rate between the two thresholds of a boundary; nothing is queued), `residence` (minimum time on its level) or `flap-budget` (it changed tier as often as the budget allows in its window); null when none does */
      heldBy: {
        /** @enum {string} */
        rule: 'hysteresis' | 'residence' | 'flap-budget';
        message: string;
        /** @description When the held move may happen; null for hysteresis (it waits for the count) */
        until: string | null;
      } | null;
    };
    PinResult: {
      cid: number;
      pin: components['schemas']['ContentPin'];
      /** @description The pin this one replaced, if any */
      previous: components['schemas']['ContentPin'] | null;
      /** @description The level MySQL holds now */
      level: string;
      /** @description The job queued to move the content to the pin level; null when already there */
      jobId: string | null;
    };
    UnpinResult: {
      cid: number;
      /** @description False when the content was not pinned */
      released: boolean;
      /** @description The pin that was released */
      pin: components['schemas']['ContentPin'] | null;
      /** @description The level MySQL holds */
      level: string | null;
      /** @description The level its latest count calls for */
      target: string | null;
      /** @description The job queued so that its count decides again; null when it is on target */
      jobId: string | null;
    };
    SetLevelResult: {
      cid: number;
      /** @description The level MySQL holds now */
      level: string;
      /** @description The level MySQL held before */
      previousLevel: string;
      filename: string;
      /** @description Where the file is (checked: a regular file) */
      path: string;
      /** @description False when the content was already on the level (nothing written) */
      changed: boolean;
      /** @description The update_history row written (job id `admin:<user>`), when changed */
      historyId: number | null;
      /** @description Regular files of the same name on other tiers (reconcile reports them) */
      otherCopies: string[];
      /** @description The level the latest count calls for; when it is not `level`, the next post or a requeue moves the content there */
      target: string | null;
    };
    RequeueResult: {
      cid: number;
      /**
       * @description `queued`: a relocation job is queued (202); `on-target`: nothing to do (200)
       * @enum {string}
       */
      status: 'queued' | 'on-target';
      /** @description The level MySQL holds */
      level: string;
      /** @description The level the latest count calls for */
      target: string;
      /** @description The latest count (posted, else MySQL's) */
      count: number;
      /** @description The queued (or already waiting) job */
      jobId: string | null;
      /** @description `move`: the count calls for another tier; `pending-move`: a recorded move is to be finished */
      reason: ('move' | 'pending-move') | null;
    };
    ClearPendingResult: {
      cid: number;
      /** @constant */
      cleared: true;
      /** @description The pending move that was cleared */
      move: {
        from: string;
        to: string;
        filename: string;
        jobId: string;
        /** Format: date-time */
        startedAt: string;
      };
      /** @description The tier that holds the file */
      level: string;
      path: string;
      /** @description The level MySQL holds */
      mysqlLevel: string | null;
      /** @description The set-level command to run when the file is not on MySQL's level */
      next: string | null;
    };
    HistoryItem: {
      id: number;
      oldLevel: string;
      newLevel: string;
      /** Format: date-time */
      oldUpdatedAt: string;
      /** Format: date-time */
      newUpdatedAt: string;
      viewCount: number;
      jobId: string | null;
      bytes: number | null;
      durationMs: number | null;
      /** @description What triggered the change: `post`, `pin`, `capacity`, `admin`, `decay`, `reconcile` (a post's count, an operator's pin, a tier above its high watermark, a level an operator recorded by hand, a view rate decayed below its level's demote threshold with `TIERING_POLICY=rate`); null for rows written before reasons were recorded */
      reason: string | null;
      /** @description The decision's inputs: `count` (the count that decided), `boundary` (the edge of the level left that the count crossed: `level`, `edge` min|max, `count`, the hysteresis `band` in views and the `threshold` count that moves; null when a pin decided), `policy` (hysteresis, hysteresisPercent, the minimum residence of the level left, the flap budget with the moves `used` in its window), or `capacity` for a capacity demotion; null for rows written by hand or before decisions were recorded */
      decision: {
        [key: string]: unknown;
      } | null;
      /** @description Version of the level table the decision was made with; null when unknown */
      levelsVersion: number | null;
      /** @description Request id of the post whose count the move acted on (the gateway's `x-request-id`); null for moves no post asked for */
      requestId: string | null;
    };
    Level: {
      /** @description Tier name (content_level) */
      name: string;
      /** @description Lowest total views of the tier (inclusive) */
      minCount: number;
      /** @description Highest total views (inclusive); null = unbounded (top tier only) */
      maxCount: number | null;
      /** @description Absolute directory holding the tier's files */
      path: string;
      /** @description Capacity of the tier in bytes (a positive whole number); absent or null = no capacity limit (only a full disk stops moves). With it, no move goes into the tier past its high watermark, and the coldest contents are demoted once the tier is above it. Listed only for a level with a capacity, with both watermarks filled in */
      capacityBytes?: number | null;
      /** @description Percent of `capacityBytes` above which the tier takes no more files (a whole number from 1 to 100; default 90). Only with `capacityBytes` */
      highWatermark?: number | null;
      /** @description Percent of `capacityBytes` down to which a tier above its high watermark is emptied by demotions (a whole number from 0 to one below the high watermark; default 80, or 10 points under a lower high watermark). Only with `capacityBytes` */
      lowWatermark?: number | null;
    };
    TierStatus: {
      /** @description The directory exists and holds the marker of its level and database */
      ok: boolean;
      /** @description TIER_UNAVAILABLE, … when not ok */
      code: string | null;
      message: string | null;
      /** @description When a relocator last checked it (ISO time) */
      checkedAt: string;
      /** @description The last storage fault a move met on this tier */
      lastFault: {
        code: string;
        message: string;
        at: string;
      } | null;
    };
    TierUsage: {
      /** @description Contents on the level */
      files: number;
      /** @description Sum of the known sizes of their files (a content registered while the gateway could not see its file counts 0 until reconcile or the capacity sweep sizes it) */
      bytes: number;
      /** @description Bytes that moves under way into the level have reserved (not yet committed) */
      reservedBytes: number;
      /** @description The capacity; null = no limit */
      capacityBytes: number | null;
      /** @description Bytes the tier may hold (`capacityBytes × highWatermark / 100`, rounded down): no move goes in past it; null without a capacity */
      highWatermarkBytes: number | null;
      /** @description Bytes a tier above its high watermark is demoted down to (`capacityBytes × lowWatermark / 100`, rounded down); null without a capacity */
      lowWatermarkBytes: number | null;
      /** @description `bytes` as a percent of `capacityBytes`, one decimal (reservations not included); null without a capacity */
      percent: number | null;
      /** @description `bytes` is above `highWatermarkBytes`: moves into the tier wait (`waiting-for-space`) and the capacity sweep demotes its coldest contents; always false without a capacity */
      aboveHighWatermark: boolean;
    };
    AuditEntry: {
      id: number;
      /**
       * Format: date-time
       * @description When it was recorded (MySQL clock, UTC)
       */
      at: string;
      /** @description `admin:<user>` over HTTP, `cli:<login>` from `npm run content` */
      actor: string;
      /** @description `levels.replace`, `content.set-level`, `content.requeue`, `content.clear-pending`, `audit.prune`, … */
      action: string;
      /** @description `levels`, `cid:<cid>`, … */
      target: string | null;
      /** @description The state before the action (JSON), or null */
      before: unknown;
      /** @description The state after the action, or its outcome (e.g. the queued job), or null */
      after: unknown;
      detail: string | null;
    };
    /** @description The placement policy in force (the TIERING_* settings every part decides with) */
    PlacementPolicy: {
      /** @description The band in views (TIERING_HYSTERESIS=50); 0 otherwise */
      hysteresis: number;
      /** @description The band as a percent of the boundary crossed (TIERING_HYSTERESIS=2.5%); else null */
      hysteresisPercent: number | null;
      /** @description TIERING_MIN_RESIDENCE_MS */
      minResidenceMs: number;
      /** @description TIERING_MIN_RESIDENCE_BY_LEVEL: milliseconds per level name */
      minResidenceByLevel: {
        [key: string]: number;
      };
      /** @description TIERING_FLAP_BUDGET; null when off */
      flapBudget: {
        moves: number;
        windowMs: number;
      } | null;
      /**
       * @description TIERING_POLICY: contents are placed by their total count or their view rate
       * @enum {string}
       */
      policy: 'count' | 'rate';
      /** @description With TIERING_POLICY=rate: its settings; else null */
      viewRate: {
        /** @description TIERING_RATE_HALF_LIFE */
        halfLifeMs: number;
        /** @description TIERING_RATE_THRESHOLDS: views per hour per level name */
        thresholds: {
          [key: string]: {
            promote: number;
            demote: number;
          };
        };
      } | null;
    };
    Stats: {
      /**
       * Format: date-time
       * @description When it was read
       */
      at: string;
      /** @description Version of the level table in force */
      version: number | null;
      /** @description Every level of the table in force, lowest first, with its contents (`files`) and bytes from the `tier_usage` counters (no directory walk) */
      tiers: {
        /** @description Contents on the level */
        files: number;
        /** @description Sum of the known sizes of their files (a content registered while the gateway could not see its file counts 0 until reconcile or the capacity sweep sizes it) */
        bytes: number;
        /** @description Bytes that moves under way into the level have reserved (not yet committed) */
        reservedBytes: number;
        /** @description The capacity; null = no limit */
        capacityBytes: number | null;
        /** @description Bytes the tier may hold (`capacityBytes × highWatermark / 100`, rounded down): no move goes in past it; null without a capacity */
        highWatermarkBytes: number | null;
        /** @description Bytes a tier above its high watermark is demoted down to (`capacityBytes × lowWatermark / 100`, rounded down); null without a capacity */
        lowWatermarkBytes: number | null;
        /** @description `bytes` as a percent of `capacityBytes`, one decimal (reservations not included); null without a capacity */
        percent: number | null;
        /** @description `bytes` is above `highWatermarkBytes`: moves into the tier wait (`waiting-for-space`) and the capacity sweep demotes its coldest contents; always false without a capacity */
        aboveHighWatermark: boolean;
        name: string;
        minCount: number;
        maxCount: number | null;
      }[];
      /** @description Moves per minute and direction over the last hour */
      moves: {
        /**
         * Format: date-time
         * @description Start of the first minute
         */
        since: string;
        /** @description Level changes (`update_history`) per minute of the last hour, oldest first; the last is the current minute */
        minutes: {
          /** Format: date-time */
          at: string;
          /** @description Moves to a level of higher minCount */
          promote: number;
          /** @description Moves to a level of lower minCount */
          demote: number;
          /** @description Moves between levels of which one is no longer in the table */
          other: number;
        }[];
        totals: {
          /** @description Moves to a level of higher minCount */
          promote: number;
          /** @description Moves to a level of lower minCount */
          demote: number;
          /** @description Moves between levels of which one is no longer in the table */
          other: number;
        };
      };
      /** @description Relocation jobs by state (BullMQ) */
      queue: {
        /** @description No relocator starts a new move (`POST /v1/relocations/pause`; Bull Board shows it too) */
        paused: boolean;
        waiting: number;
        active: number;
        delayed: number;
        failed: number;
        /** @description Completed jobs still kept (an hour) */
        completed: number;
        /** @description Relocator replicas connected to the queue */
        replicas: number;
      };
      /** @description Contents whose relocation failed: the newest 20 jobs, one per cid */
      failed: {
        /** @description Failed jobs BullMQ keeps (a week) */
        total: number;
        items: {
          cid: number;
          jobId: string;
          target: string | null;
          error: string;
          failedAt: string | null;
          /**
           * @description Where its status is read: `/v1/contents/<cid>`
           * @example /v1/contents/7
           */
          status: string;
        }[];
      };
      /** @description Contents whose count calls for another tier with nothing queued (as `GET /v1/contents?state=stuck`), the oldest 20, each checked again */
      stuck: {
        /** @description Contents the last cache sweep published as stuck */
        total: number;
        items: {
          cid: number;
          level: string;
          target: string;
          viewCount: number;
          /** Format: date-time */
          stuckSince: string;
          /**
           * @description Where its status is read: `/v1/contents/<cid>`
           * @example /v1/contents/7
           */
          status: string;
        }[];
      };
      policy: components['schemas']['PlacementPolicy'];
    };
    PlanTotals: {
      contents: number;
      /** @description Sum of the sized files (see `sized`) */
      bytes: number;
      /** @description How many of `contents` were sized (the listed page, or all with `?sizes=all`, whose file is a regular file on its tier) */
      sized: number;
      /** @description How many already have a job queued or running */
      queued: number;
    };
    PlannedMove: {
      cid: number;
      filename: string;
      /** @description The level it is on (as the shared cache knows it) */
      from: string;
      /** @description The level its latest count calls for */
      to: string;
      /** @enum {string} */
      direction: 'promote' | 'demote' | 'unknown-current';
      /** @description Its latest posted count (total views) */
      count: number;
      /** @description The edge of `from` the count went past (`max`: above it, a promotion; `min`: below it); null when `from` is no level of the table (`unknown-current`), the move is to a pinned level, or with TIERING_POLICY=rate (`rate` decides) */
      boundary: {
        level: string;
        /** @enum {string} */
        edge: 'min' | 'max';
        /** @description The level's minCount or maxCount */
        count: number;
      } | null;
      /** @description With TIERING_POLICY=rate: its view rate in views per hour as of the plan (decayed since its last post), which decides; else null */
      rate: number | null;
      /** @description The move goes to the level an operator pinned the content to (not its count) */
      pinned: boolean;
      /** @description Size of its file on `from`'s tier (lstat); null when it is not a file there */
      bytes: number | null;
      /** @description A relocation job is already waiting or running */
      queued: boolean;
      jobId: string | null;
    };
    RelocationPlan: {
      /** @description Decided with a candidate table (POST), not the table in force (GET) */
      candidate: boolean;
      /** @description Version of the level table in force (files are sized on its tiers) */
      version: number | null;
      /** @description TIERING_HYSTERESIS the plan decided with, in views; 0 when none or given as a percent (see `tiering`) */
      hysteresis: number;
      tiering: components['schemas']['PlacementPolicy'];
      /** @description Cache entries read (contents posted to) */
      scanned: number;
      /** @description Cache entries with no posted count (not planned) */
      withoutCount: number;
      /** @description Planned contents, every page */
      moves: number;
      totals: {
        promote: components['schemas']['PlanTotals'];
        demote: components['schemas']['PlanTotals'];
        'unknown-current': components['schemas']['PlanTotals'];
      };
      items: components['schemas']['PlannedMove'][];
      /** @description `after` of the next page; null when last */
      nextAfter: number | null;
      durationMs: number;
    };
    RelocationsStatus: {
      /** @description No relocator starts a new move (BullMQ pause; Bull Board shows it too) */
      paused: boolean;
      active: number;
      waiting: number;
      delayed: number;
      failed: number;
      replicas: {
        /** @description The relocator replica, `<host>:<pid>` */
        name: string;
        addr: string;
        ageSeconds: number;
        idleSeconds: number;
      }[];
    };
    RelocationsPaused: {
      /** @description No relocator starts a new move (BullMQ pause; Bull Board shows it too) */
      paused: boolean;
      active: number;
      waiting: number;
      delayed: number;
      failed: number;
      replicas: {
        /** @description The relocator replica, `<host>:<pid>` */
        name: string;
        addr: string;
        ageSeconds: number;
        idleSeconds: number;
      }[];
      /** @description No move is active any more */
      drained: boolean;
    };
  };
  responses: never;
  parameters: never;
  requestBodies: never;
  headers: never;
  pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
  getMetrics: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Prometheus text exposition format */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': string;
        };
      };
      /** @description Default Response */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  getHealth: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Default Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            /** @enum {string} */
            status: 'ok';
          };
        };
      };
    };
  };
  getReadiness: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Default Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            /** @enum {string} */
            status: 'ready';
            checks: {
              /** @enum {string} */
              redis: 'ok';
              /** @enum {string} */
              database: 'ok';
            };
          };
        };
      };
      /** @description Default Response */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  postSentence: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/x-www-form-urlencoded': {
          /** @description Content id (integer >= 0; a string of digits is accepted) */
          cid: number | string;
          /** @description Total views of the content so far (integer >= 0; a string of digits is accepted) */
          count: number | string;
        };
        'application/json': {
          /** @description Content id (integer >= 0; a string of digits is accepted) */
          cid: number | string;
          /** @description Total views of the content so far (integer >= 0; a string of digits is accepted) */
          count: number | string;
        };
      };
    };
    responses: {
      /** @description Default Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['LegacyPostResult'];
        };
      };
      /** @description Default Response */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  updateSentence: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/x-www-form-urlencoded': {
          /** @description Content id (integer >= 0; a string of digits is accepted) */
          cid: number | string;
        };
        'application/json': {
          /** @description Content id (integer >= 0; a string of digits is accepted) */
          cid: number | string;
        };
      };
    };
    responses: {
      /** @description The cid, or "check your status again" (text/plain) */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': string;
        };
      };
      /** @description Default Response */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  postViews: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json':
          | {
              /** @description Content id (integer >= 0; a string of digits is accepted) */
              cid: number | string;
              /** @description Total views of the content so far (integer >= 0; a string of digits is accepted) */
              count: number | string;
            }[]
          | {
              /** @description Content id (integer >= 0; a string of digits is accepted) */
              cid: number | string;
              /** @description Total views of the content so far (integer >= 0; a string of digits is accepted) */
              count: number | string;
            };
      };
    };
    responses: {
      /** @description Default Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json':
            | components['schemas']['ViewResult']
            | {
                items: (
                  components['schemas']['ViewResult'] | components['schemas']['ViewItemError']
                )[];
              };
        };
      };
      /** @description Default Response */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  listContents: {
    parameters: {
      query: {
        /** @description `stuck`: contents whose latest count calls for another tier while nothing is queued, running or delayed for them (found by the relocators' cache sweep, every CACHE_SYNC_EVERY) */
        state: 'stuck';
        /** @description Most contents to return (1-1000, default 100) */
        limit?: string;
        /** @description How many to skip (paging) */
        offset?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Default Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            total: number;
            items: {
              cid: number;
              filename: string;
              level: string;
              target: string;
              viewCount: number;
              /** Format: date-time */
              stuckSince: string;
            }[];
          };
        };
      };
      /** @description Default Response */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  registerContent: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          /** @description Content id (integer >= 0; a string of digits is accepted) */
          cid: number | string;
          /** @description Plain base file name of visible characters: no "/", "\" or "..", not starting with ".", no control or format (bidi, zero-width) characters, no leading or trailing space, at most 255 bytes of UTF-8 */
          filename: string;
        };
      };
    };
    responses: {
      /** @description Default Response */
      201: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Content'];
        };
      };
      /** @description Default Response */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  getContent: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description Content id (integer >= 0; a string of digits is accepted) */
        cid: number | string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Default Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ContentState'];
        };
      };
      /** @description Default Response */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  getContentHistory: {
    parameters: {
      query?: {
        /** @description Most rows to return (1-1000, default 100) */
        limit?: string;
        /** @description Only rows with an id below this (for paging) */
        before?: string;
      };
      header?: never;
      path: {
        /** @description Content id (integer >= 0; a string of digits is accepted) */
        cid: number | string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Default Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            cid: number;
            items: components['schemas']['HistoryItem'][];
          };
        };
      };
      /** @description Default Response */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  setContentLevel: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description Content id (integer >= 0; a string of digits is accepted) */
        cid: number | string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          /** @description The level whose directory now holds the content's file */
          level: string;
        };
      };
    };
    responses: {
      /** @description Default Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['SetLevelResult'];
        };
      };
      /** @description Default Response */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  requeueContent: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description Content id (integer >= 0; a string of digits is accepted) */
        cid: number | string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Default Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['RequeueResult'];
        };
      };
      /** @description Default Response */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['RequeueResult'];
        };
      };
      /** @description Default Response */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  clearPendingMove: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description Content id (integer >= 0; a string of digits is accepted) */
        cid: number | string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Default Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ClearPendingResult'];
        };
      };
      /** @description Default Response */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  pinContent: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description Content id (integer >= 0; a string of digits is accepted) */
        cid: number | string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          /** @description The level to keep the content on */
          level: string;
          /** @description When the pin releases itself (ISO 8601, in the future); null or absent = until released */
          until?: string | null;
          /** @description Why, for the audit trail */
          reason: string;
        };
      };
    };
    responses: {
      /** @description Default Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['PinResult'];
        };
      };
      /** @description Default Response */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  unpinContent: {
    parameters: {
      query?: {
        /** @description Why, for the audit trail */
        reason?: string;
      };
      header?: never;
      path: {
        /** @description Content id (integer >= 0; a string of digits is accepted) */
        cid: number | string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Default Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['UnpinResult'];
        };
      };
      /** @description Default Response */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  listLevels: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Default Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            levels: components['schemas']['Level'][];
            /** @description Version of the level table published to the gateways (null when unknown) */
            version: number | null;
            /** @description Each tier directory as the relocators last saw it, by level (absent until a relocator has checked it) */
            tiers?: {
              [key: string]: components['schemas']['TierStatus'];
            };
            /** @description Files, bytes and capacity of every level, by level name (`GET /v1/levels` only), read from the counters MySQL keeps on every write of `contents` */
            usage?: {
              [key: string]: components['schemas']['TierUsage'];
            };
          };
        };
      };
      /** @description Default Response */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  replaceLevels: {
    parameters: {
      query?: {
        /** @description Create missing tier directories and write their markers (a new, empty tier); without it a level whose directory is missing or unmarked is refused */
        create?: 'true' | 'false';
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          levels: components['schemas']['LevelInput'][];
        };
      };
    };
    responses: {
      /** @description Default Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            levels: components['schemas']['Level'][];
            /** @description Version of the level table published to the gateways (null when unknown) */
            version: number | null;
            /** @description Each tier directory as the relocators last saw it, by level (absent until a relocator has checked it) */
            tiers?: {
              [key: string]: components['schemas']['TierStatus'];
            };
            /** @description Files, bytes and capacity of every level, by level name (`GET /v1/levels` only), read from the counters MySQL keeps on every write of `contents` */
            usage?: {
              [key: string]: components['schemas']['TierUsage'];
            };
          };
        };
      };
      /** @description Default Response */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  listAuditEntries: {
    parameters: {
      query?: {
        /** @description Most entries to return (1-1000, default 100) */
        limit?: string;
        /** @description Only entries with an id below this (paging: the last id of a page) */
        before?: string;
        /** @description Only this action, e.g. `levels.replace` or `content.requeue` */
        action?: string;
        /** @description Only this actor, e.g. `admin:operator` or `cli:alice` */
        actor?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Default Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            items: components['schemas']['AuditEntry'][];
          };
        };
      };
      /** @description Default Response */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  getRelocations: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Default Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['RelocationsStatus'];
        };
      };
      /** @description Default Response */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  pauseRelocations: {
    parameters: {
      query?: {
        /** @description Drain: after pausing, wait up to this many seconds until no move is active (for maintenance of a tier disk) */
        wait?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Default Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['RelocationsPaused'];
        };
      };
      /** @description Default Response */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  resumeRelocations: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Default Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['RelocationsStatus'];
        };
      };
      /** @description Default Response */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  getPlan: {
    parameters: {
      query?: {
        /** @description Most contents to list (1-1000, default 100) */
        limit?: string;
        /** @description List the contents after this cid (`nextAfter` of the previous page) */
        after?: string;
        /** @description `page` (default): stat the files of the listed contents only; `all`: of every planned content, so the totals carry every byte (one `lstat` per planned content) */
        sizes?: 'page' | 'all';
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Default Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['RelocationPlan'];
        };
      };
      /** @description Default Response */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  planLevels: {
    parameters: {
      query?: {
        /** @description Most contents to list (1-1000, default 100) */
        limit?: string;
        /** @description List the contents after this cid (`nextAfter` of the previous page) */
        after?: string;
        /** @description `page` (default): stat the files of the listed contents only; `all`: of every planned content, so the totals carry every byte (one `lstat` per planned content) */
        sizes?: 'page' | 'all';
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          levels: components['schemas']['LevelInput'][];
        };
      };
    };
    responses: {
      /** @description Default Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['RelocationPlan'];
        };
      };
      /** @description Default Response */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  getStats: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Default Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Stats'];
        };
      };
      /** @description Default Response */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Default Response */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
}
