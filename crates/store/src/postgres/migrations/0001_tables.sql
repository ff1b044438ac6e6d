-- gongkai schema, version 1: one table per tree of the store.
--
-- Every table holds one tree (crates/store/src/keys.rs has the key layout):
--   key   bytea PRIMARY KEY  the store's key, byte for byte. bytea sorts
--                            bytewise (memcmp), as sled does, so a scan by
--                            prefix after a key pages exactly as on sled.
--   value bytea NOT NULL     the stored value, byte for byte: a format byte
--                            then protobuf (crates/store/src/codec.rs), empty
--                            for index entries, a raw SHA-256 in
--                            audit_event_hashes, a u32 for store_meta.format.
-- and readable columns that gongkai fills from the key and value on every
-- write, for people reading the tables in psql. gongkai itself only ever
-- reads key and value; editing a readable column changes nothing it does,
-- and editing a value is found by `gongkai verify` (the audit chain).
--
--   store_meta             format (u32) and audit_head (the audit chain's
--                          newest event). Every write locks the audit_head
--                          row (SELECT … FOR UPDATE) before anything else:
--                          writers of every replica take turns on it, so the
--                          chain stays one sequence. The row is made here,
--                          for an empty chain, so there is always one to lock.
--   agencies               uscc → the agency's current record
--   agency_versions        uscc · version → every version of an agency
--   supervision            supervisor uscc · agency uscc → (empty): the tree
--   reports                uscc · year → the report's head: latest revision,
--                          its state, the latest approved revision
--   report_revisions       uscc · year · revision → every revision, kept
--   reports_by_year        year · uscc → (empty)                 (listing index)
--   reports_by_state       state · year · uscc → (empty)         (listing index)
--   area_reports           area uscc · year · uscc → (empty)     (listing index)
--   area_reports_by_state  area uscc · state · year · uscc → (empty)
--   audit_events           sequence → the audit event
--   audit_event_hashes     sequence → SHA-256 of the event's stored bytes
--   requests               principal / request id → the first outcome of a
--                          request id (idempotency); principal and
--                          request_id come from the audit event it names
--   area_sums              area uscc · year → the sum of the approved
--                          reports under the area
--
-- Listings are key-range scans of the primary keys; no other index is
-- needed. Integers the store keeps as u32 are bigint here (exact); a state
-- is its lower-case name (draft, submitted, approved, returned).

CREATE TABLE store_meta (
    key bytea PRIMARY KEY,
    value bytea NOT NULL,
    name text NOT NULL,
    format bigint,
    audit_sequence bigint,
    audit_event_sha256 bytea
);
COMMENT ON TABLE store_meta IS
    'gongkai: the store''s format and the audit chain''s head (every write locks the audit_head row)';

-- The chain's head for an empty chain (sequence 0): an AuditHead with no
-- fields, behind the value format byte 1.
INSERT INTO store_meta (key, value, name, audit_sequence)
VALUES (convert_to('audit_head', 'UTF8'), '\x01'::bytea, 'audit_head', 0);

CREATE TABLE agencies (
    key bytea PRIMARY KEY,
    value bytea NOT NULL,
    uscc text NOT NULL,
    display_name text NOT NULL,
    supervisor_uscc text,
    region_code text NOT NULL,
    version bigint NOT NULL
);
COMMENT ON TABLE agencies IS 'gongkai: each agency''s current record, by 统一社会信用代码';

CREATE TABLE agency_versions (
    key bytea PRIMARY KEY,
    value bytea NOT NULL,
    uscc text NOT NULL,
    version bigint NOT NULL,
    display_name text NOT NULL,
    supervisor_uscc text
);
COMMENT ON TABLE agency_versions IS 'gongkai: every version of every agency, never changed';

CREATE TABLE supervision (
    key bytea PRIMARY KEY,
    value bytea NOT NULL,
    supervisor_uscc text NOT NULL,
    agency_uscc text NOT NULL
);
COMMENT ON TABLE supervision IS 'gongkai: the supervision tree, one row per supervised agency';

CREATE TABLE reports (
    key bytea PRIMARY KEY,
    value bytea NOT NULL,
    uscc text NOT NULL,
    year integer NOT NULL,
    latest_revision bigint NOT NULL,
    latest_state text NOT NULL,
    approved_revision bigint NOT NULL
);
COMMENT ON TABLE reports IS 'gongkai: each report (agency × data year) and where it stands';

CREATE TABLE report_revisions (
    key bytea PRIMARY KEY,
    value bytea NOT NULL,
    uscc text NOT NULL,
    year integer NOT NULL,
    revision bigint NOT NULL,
    state text NOT NULL,
    author text NOT NULL,
    created_at timestamptz,
    previous_revision bigint NOT NULL,
    request_id text NOT NULL,
    ruleset_version text NOT NULL
);
COMMENT ON TABLE report_revisions IS 'gongkai: every revision of every report, never changed';

CREATE TABLE reports_by_year (
    key bytea PRIMARY KEY,
    value bytea NOT NULL,
    year integer NOT NULL,
    uscc text NOT NULL
);
COMMENT ON TABLE reports_by_year IS 'gongkai: listing index, reports by data year';

CREATE TABLE reports_by_state (
    key bytea PRIMARY KEY,
    value bytea NOT NULL,
    state text NOT NULL,
    year integer NOT NULL,
    uscc text NOT NULL
);
COMMENT ON TABLE reports_by_state IS 'gongkai: listing index, reports by review state and year';

CREATE TABLE area_reports (
    key bytea PRIMARY KEY,
    value bytea NOT NULL,
    area_uscc text NOT NULL,
    year integer NOT NULL,
    uscc text NOT NULL
);
COMMENT ON TABLE area_reports IS 'gongkai: listing index, the reports of every agency in an area (itself included)';

CREATE TABLE area_reports_by_state (
    key bytea PRIMARY KEY,
    value bytea NOT NULL,
    area_uscc text NOT NULL,
    state text NOT NULL,
    year integer NOT NULL,
    uscc text NOT NULL
);
COMMENT ON TABLE area_reports_by_state IS 'gongkai: listing index, an area''s reports by review state';

CREATE TABLE audit_events (
    key bytea PRIMARY KEY,
    value bytea NOT NULL,
    sequence bigint NOT NULL UNIQUE,
    time timestamptz,
    principal text NOT NULL,
    action text NOT NULL,
    resource text NOT NULL,
    revision bigint NOT NULL,
    request_id text NOT NULL
);
COMMENT ON TABLE audit_events IS 'gongkai: the audit chain, one event per change; `gongkai verify` checks it';

CREATE TABLE audit_event_hashes (
    key bytea PRIMARY KEY,
    value bytea NOT NULL,
    sequence bigint NOT NULL
);
COMMENT ON TABLE audit_event_hashes IS 'gongkai: SHA-256 of each audit event''s stored bytes (value)';

CREATE TABLE requests (
    key bytea PRIMARY KEY,
    value bytea NOT NULL,
    principal text,
    request_id text,
    resource text NOT NULL,
    revision bigint NOT NULL,
    event_sequence bigint NOT NULL
);
COMMENT ON TABLE requests IS 'gongkai: the first outcome of each request id (a retry is answered from it)';

CREATE TABLE area_sums (
    key bytea PRIMARY KEY,
    value bytea NOT NULL,
    area_uscc text NOT NULL,
    year integer NOT NULL,
    agencies bigint NOT NULL,
    other_format bigint NOT NULL
);
COMMENT ON TABLE area_sums IS 'gongkai: the sum of the approved reports under each area, per data year';
