-- SPDX-License-Identifier: MIT
-- mlsec fleet schema, version 1: the tables only the owner touches and the API functions
-- hosts may call. Every API function is SECURITY DEFINER and takes the host from
-- session_user (the role the engine authenticated), never from a parameter. Host roles
-- are members of mlsec_host, which may only EXECUTE these functions: no table rights.
-- @MODULE@ is replaced with the absolute path of mlsec_fleet.so by `mlsecctl admin fleet init`.

CREATE SCHEMA mlsec;
REVOKE ALL ON SCHEMA mlsec FROM PUBLIC;

CREATE TABLE mlsec.meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE mlsec.hosts (name text PRIMARY KEY, added bigint NOT NULL, admin boolean NOT NULL DEFAULT false);
-- the fleet's verification policy: mlsec.conf lines (window, max_failures, failure_window,
-- lockout_seconds, max_user_failures, max_local_failures, enroll_timeout), one per row
CREATE TABLE mlsec.policy (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE mlsec.devices (
        id bigserial PRIMARY KEY,
        username text NOT NULL,
        name text NOT NULL,
        alg text NOT NULL,
        digits int NOT NULL,
        period int NOT NULL,
        sealed bytea NOT NULL,
        last_step bigint NOT NULL DEFAULT -1,
        created bigint NOT NULL,
        created_on text NOT NULL,
        last_used bigint,
        UNIQUE (username, name));
CREATE TABLE mlsec.backup_codes (
        id bigserial PRIMARY KEY,
        username text NOT NULL,
        hash bytea NOT NULL,
        created bigint NOT NULL,
        used bigint);
CREATE INDEX ON mlsec.backup_codes (username);
CREATE TABLE mlsec.failures (
        id bigserial PRIMARY KEY,
        username text NOT NULL,
        source text NOT NULL,
        cls int NOT NULL,
        at bigint NOT NULL,
        host text NOT NULL);
CREATE INDEX ON mlsec.failures (username, source, at);
CREATE TABLE mlsec.lockouts (
        username text NOT NULL,
        source text NOT NULL,
        locked_at bigint NOT NULL,
        until bigint NOT NULL,
        host text NOT NULL,
        PRIMARY KEY (username, source));
-- an enrolment begun and not yet confirmed: the sealed secret waits here
CREATE TABLE mlsec.pending (
        username text PRIMARY KEY,
        host text NOT NULL,
        name text NOT NULL,
        alg text NOT NULL,
        digits int NOT NULL,
        sealed bytea NOT NULL,
        first boolean NOT NULL,
        tries int NOT NULL,
        expires bigint NOT NULL);
-- the proof a host needs to change a user's devices: a check passed there, recently
CREATE TABLE mlsec.passes (
        username text NOT NULL,
        host text NOT NULL,
        at bigint NOT NULL,
        PRIMARY KEY (username, host));
CREATE TABLE mlsec.audit (
        id bigserial PRIMARY KEY,
        at bigint NOT NULL,
        host text NOT NULL,
        username text NOT NULL,
        action text NOT NULL,
        detail text NOT NULL DEFAULT '');
CREATE INDEX ON mlsec.audit (username, at);
INSERT INTO mlsec.meta VALUES ('schema_version', '1');

-- what a check decided
CREATE TYPE mlsec.outcome AS (
        step text,           -- before_code: ask, pass, refuse; verify: checked
        verdict text,        -- ok, wrong code, replay, drift, locked, unenrolled, malformed, unknown user
        method text,         -- totp, backup, trusted-network, none
        device text,
        drift_seconds bigint,
        lock_remaining bigint,
        lock_user_wide boolean,
        lock_local_wide boolean,
        lock_started boolean,
        backup_left int,
        password_len int);

CREATE TYPE mlsec.enrolment AS (uri text, secret text, expires bigint);
-- result: ok, wrong code, expired, exists (a device of that name), changed (devices changed meanwhile)
CREATE TYPE mlsec.confirmation AS (result text, tries_left int, backup_codes text[], device text);
CREATE TYPE mlsec.device AS (name text, alg text, digits int, created bigint, created_on text, last_used bigint);

-- The C functions: EXECUTE for the owner only; the host is their first parameter.
CREATE FUNCTION mlsec._key_create() RETURNS text AS '@MODULE@', 'mlsec_key_create' LANGUAGE C STRICT;
CREATE FUNCTION mlsec._before_code(host text, username text, source text, cls int, known boolean,
        unenrolled_allow boolean, trusted boolean, combined boolean)
        RETURNS mlsec.outcome AS '@MODULE@', 'mlsec_before_code' LANGUAGE C STRICT VOLATILE;
CREATE FUNCTION mlsec._verify(host text, username text, answer text, source text, cls int, known boolean,
        combined boolean)
        RETURNS mlsec.outcome AS '@MODULE@', 'mlsec_verify' LANGUAGE C STRICT VOLATILE;
CREATE FUNCTION mlsec._enrol_begin(host text, username text, name text, digits int, issuer text)
        RETURNS mlsec.enrolment AS '@MODULE@', 'mlsec_enrol_begin' LANGUAGE C STRICT VOLATILE;
CREATE FUNCTION mlsec._enrol_confirm(host text, username text, code text)
        RETURNS mlsec.confirmation AS '@MODULE@', 'mlsec_enrol_confirm' LANGUAGE C STRICT VOLATILE;
CREATE FUNCTION mlsec._backup_regenerate(host text, username text)
        RETURNS text[] AS '@MODULE@', 'mlsec_backup_regenerate' LANGUAGE C STRICT VOLATILE;
CREATE FUNCTION mlsec._import_device(host text, username text, name text, alg text, digits int, period int,
        last_step bigint, secret bytea)
        RETURNS text AS '@MODULE@', 'mlsec_import_device' LANGUAGE C STRICT VOLATILE;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA mlsec FROM PUBLIC;

-- The host: session_user, registered. Anyone else is refused before anything is read.
CREATE FUNCTION mlsec._host() RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
        IF NOT EXISTS (SELECT 1 FROM mlsec.hosts WHERE name = session_user) THEN
                RAISE EXCEPTION 'role "%" is not a host of this fleet', session_user USING ERRCODE = '42501';
        END IF;
        RETURN session_user;
END $$;
CREATE FUNCTION mlsec._audit(h text, u text, act text, det text) RETURNS void LANGUAGE sql AS $$
        INSERT INTO mlsec.audit (at, host, username, action, detail)
        VALUES (extract(epoch from clock_timestamp())::bigint, h, u, act, det) $$;
-- the proof for changing USER's devices from host H: a check passed on H in the last five
-- minutes, or (no device yet) a first enrolment, from any host or (meta first_enrolment =
-- admin-host) from admin hosts only
CREATE FUNCTION mlsec._proof(h text, u text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
        IF EXISTS (SELECT 1 FROM mlsec.passes WHERE username = u AND host = h
                   AND at > extract(epoch from clock_timestamp())::bigint - 300) THEN
                RETURN 'verified';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM mlsec.devices WHERE username = u) THEN
                -- the policy of first enrolments: from any host (default), or admin hosts only
                IF coalesce((SELECT value FROM mlsec.meta WHERE key = 'first_enrolment'), 'any-host') = 'any-host'
                   OR (SELECT admin FROM mlsec.hosts WHERE name = h) THEN
                        RETURN 'first enrolment';
                END IF;
                RAISE EXCEPTION 'first enrolments are for admin hosts only (first_enrolment = admin-host)'
                        USING ERRCODE = '42501';
        END IF;
        RAISE EXCEPTION 'no recent verification of % on %: verify a code first', u, h USING ERRCODE = '42501';
END $$;
CREATE FUNCTION mlsec._admin(h text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
        IF NOT (SELECT admin FROM mlsec.hosts WHERE name = h) THEN
                RAISE EXCEPTION 'host % is not an admin host of this fleet', h USING ERRCODE = '42501';
        END IF;
END $$;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA mlsec FROM PUBLIC;

-- The API: what a host may call.
CREATE FUNCTION mlsec.before_code(username text, source text, cls int, known boolean, unenrolled_allow boolean,
        trusted boolean, combined boolean) RETURNS mlsec.outcome
        LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
        SELECT * FROM mlsec._before_code(mlsec._host(), username, source, cls, known, unenrolled_allow, trusted,
                                         combined) $$;
CREATE FUNCTION mlsec.verify(username text, answer text, source text, cls int, known boolean, combined boolean)
        RETURNS mlsec.outcome
        LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
        SELECT * FROM mlsec._verify(mlsec._host(), username, answer, source, cls, known, combined) $$;
CREATE FUNCTION mlsec.enrol_begin(username text, name text DEFAULT 'default', digits int DEFAULT 6)
        RETURNS mlsec.enrolment
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE h text := mlsec._host(); proof text := mlsec._proof(h, username); e mlsec.enrolment;
BEGIN
        e := mlsec._enrol_begin(h, username, name, digits, h);
        PERFORM mlsec._audit(h, username, 'enrolment-begun', name || ' (' || proof || ')');
        RETURN e;
END $$;
-- the code that confirms an enrolment begun on the same host
CREATE FUNCTION mlsec.enrol_confirm(username text, code text) RETURNS mlsec.confirmation
        LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
        SELECT * FROM mlsec._enrol_confirm(mlsec._host(), username, code) $$;
CREATE FUNCTION mlsec.devices(username text) RETURNS SETOF mlsec.device
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE h text := mlsec._host();
BEGIN
        RETURN QUERY SELECT d.name, d.alg, d.digits, d.created, d.created_on, d.last_used
                FROM mlsec.devices d WHERE d.username = devices.username ORDER BY d.name;
END $$;
CREATE FUNCTION mlsec.device_remove(username text, name text) RETURNS boolean
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE h text := mlsec._host(); proof text := mlsec._proof(h, username); n int;
BEGIN
        PERFORM pg_advisory_xact_lock(7243, hashtext(username));
        DELETE FROM mlsec.devices d WHERE d.username = device_remove.username AND d.name = device_remove.name;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n = 0 THEN
                RETURN false;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM mlsec.devices d WHERE d.username = device_remove.username) THEN
                DELETE FROM mlsec.backup_codes b WHERE b.username = device_remove.username;
        END IF;
        PERFORM mlsec._audit(h, username, 'device-removed', name || ' (' || proof || ')');
        RETURN true;
END $$;
CREATE FUNCTION mlsec.disable(username text) RETURNS int
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE h text := mlsec._host(); proof text := mlsec._proof(h, username); n int;
BEGIN
        PERFORM pg_advisory_xact_lock(7243, hashtext(username));
        DELETE FROM mlsec.devices d WHERE d.username = disable.username;
        GET DIAGNOSTICS n = ROW_COUNT;
        DELETE FROM mlsec.backup_codes b WHERE b.username = disable.username;
        DELETE FROM mlsec.passes p WHERE p.username = disable.username;
        PERFORM mlsec._audit(h, username, 'mfa-disabled', n || ' device(s) (' || proof || ')');
        RETURN n;
END $$;
CREATE FUNCTION mlsec.backup_regenerate(username text) RETURNS text[]
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE h text := mlsec._host(); proof text := mlsec._proof(h, username);
BEGIN
        IF NOT EXISTS (SELECT 1 FROM mlsec.devices d WHERE d.username = backup_regenerate.username) THEN
                RAISE EXCEPTION '% has no device: enrol one first', username USING ERRCODE = '55000';
        END IF;
        PERFORM mlsec._audit(h, username, 'backup-codes-regenerated', proof);
        RETURN mlsec._backup_regenerate(h, username);
END $$;
-- unlock: any host of the fleet (its administrator unlocks everywhere)
CREATE FUNCTION mlsec.unlock(username text) RETURNS int
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE h text := mlsec._host(); n int;
BEGIN
        PERFORM pg_advisory_xact_lock(7243, hashtext(username));
        DELETE FROM mlsec.lockouts l WHERE l.username = unlock.username;
        GET DIAGNOSTICS n = ROW_COUNT;
        DELETE FROM mlsec.failures f WHERE f.username = unlock.username;
        PERFORM mlsec._audit(h, username, 'unlocked', n || ' lockout(s)');
        RETURN n;
END $$;
-- what the user's overview shows: devices, unused backup codes, sources locked now
CREATE FUNCTION mlsec.summary(username text) RETURNS TABLE (devices int, backup_left int, locked int)
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE h text := mlsec._host();
BEGIN
        RETURN QUERY SELECT (SELECT count(*)::int FROM mlsec.devices d WHERE d.username = summary.username),
                (SELECT count(*)::int FROM mlsec.backup_codes b WHERE b.username = summary.username AND b.used IS NULL),
                (SELECT count(*)::int FROM mlsec.lockouts l WHERE l.username = summary.username
                 AND l.until > extract(epoch from clock_timestamp())::bigint);
END $$;
CREATE FUNCTION mlsec.lockouts(username text)
        RETURNS TABLE (source text, locked_at bigint, until bigint, host text)
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE h text := mlsec._host();
BEGIN
        RETURN QUERY SELECT l.source, l.locked_at, l.until, l.host FROM mlsec.lockouts l
                WHERE l.username = lockouts.username
                  AND l.until > extract(epoch from clock_timestamp())::bigint ORDER BY l.source;
END $$;
-- reset (recovery of a user who lost every device): admin hosts only
CREATE FUNCTION mlsec.admin_reset(username text) RETURNS int
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE h text := mlsec._host(); n int;
BEGIN
        PERFORM mlsec._admin(h);
        PERFORM pg_advisory_xact_lock(7243, hashtext(username));
        DELETE FROM mlsec.devices d WHERE d.username = admin_reset.username;
        GET DIAGNOSTICS n = ROW_COUNT;
        DELETE FROM mlsec.backup_codes b WHERE b.username = admin_reset.username;
        DELETE FROM mlsec.passes p WHERE p.username = admin_reset.username;
        PERFORM mlsec._audit(h, username, 'mfa-reset', n || ' device(s)');
        RETURN n;
END $$;
-- migration (mlsecctl admin fleet import): a host's own enrolments, sealed for the fleet
-- key in the database; admin hosts only
CREATE FUNCTION mlsec.import_device(username text, name text, alg text, digits int, period int, last_step bigint,
        secret bytea) RETURNS text
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE h text := mlsec._host();
BEGIN
        PERFORM mlsec._admin(h);
        RETURN mlsec._import_device(h, username, name, alg, digits, period, last_step, secret);
END $$;
CREATE FUNCTION mlsec.audit_of(username text, max int DEFAULT 100)
        RETURNS TABLE (at bigint, host text, action text, detail text)
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE h text := mlsec._host();
BEGIN
        RETURN QUERY SELECT a.at, a.host, a.action, a.detail FROM mlsec.audit a
                WHERE a.username = audit_of.username ORDER BY a.id DESC LIMIT least(max, 1000);
END $$;
CREATE FUNCTION mlsec.status() RETURNS TABLE (host text, admin boolean, schema_version int, db_time bigint)
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE h text := mlsec._host();
BEGIN
        RETURN QUERY SELECT h, (SELECT x.admin FROM mlsec.hosts x WHERE x.name = h),
                (SELECT m.value::int FROM mlsec.meta m WHERE m.key = 'schema_version'),
                extract(epoch from clock_timestamp())::bigint;
END $$;

DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mlsec_host') THEN
                CREATE ROLE mlsec_host NOLOGIN;
        END IF;
END $$;
GRANT USAGE ON SCHEMA mlsec TO mlsec_host;
GRANT EXECUTE ON FUNCTION mlsec.before_code(text, text, int, boolean, boolean, boolean, boolean),
        mlsec.verify(text, text, text, int, boolean, boolean),
        mlsec.enrol_begin(text, text, int), mlsec.enrol_confirm(text, text), mlsec.devices(text),
        mlsec.device_remove(text, text), mlsec.disable(text), mlsec.backup_regenerate(text),
        mlsec.unlock(text), mlsec.lockouts(text), mlsec.summary(text), mlsec.admin_reset(text),
        mlsec.import_device(text, text, text, int, int, bigint, bytea), mlsec.audit_of(text, int),
        mlsec.status() TO mlsec_host;
