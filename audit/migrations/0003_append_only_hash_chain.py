"""The access trail is append-only and hash-chained, enforced by PostgreSQL itself.

- UPDATE and DELETE are refused, always.
- TRUNCATE is refused unless the session's `dcr.audit_truncate_allowed` is 'on'; only the test databases
  set it (test teardown empties tables with TRUNCATE). Production runs as a role without DDL or TRUNCATE
  rights, so the trigger is a second line, and `verify_audit` the third.
- A BEFORE INSERT trigger, under an advisory lock, numbers each event (`seq`) and sets `prev_hash` and
  `hash` = sha256 of prev_hash and the event's values, so concurrent writers cannot fork the chain and no
  writer can skip it.
"""

from django.db import migrations

PAYLOAD = """
CREATE FUNCTION audit_accessevent_payload(e audit_accessevent) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT json_build_array(
        e.prev_hash, e.seq, e.id, (extract(epoch FROM e.occurred_at) * 1000000)::bigint, e.user_id,
        e.user_display, e.role_code, e.role_name, e.organisation_ods, e.organisation_name, e.person_id,
        e.person_nhs_number, e.action, e.outcome, e.detail::text, e.basis, e.basis_detail,
        host(e.client_ip), e.session_ref
    )::text
$$;
"""

CHAIN = """
CREATE FUNCTION audit_accessevent_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_seq bigint;
    last_hash text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('audit_accessevent_chain'));
    SELECT seq, hash INTO last_seq, last_hash FROM audit_accessevent ORDER BY seq DESC LIMIT 1;
    NEW.seq := COALESCE(last_seq, 0) + 1;
    NEW.prev_hash := COALESCE(last_hash, '');
    NEW.hash := encode(sha256(convert_to(audit_accessevent_payload(NEW), 'UTF8')), 'hex');
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_accessevent_chain BEFORE INSERT ON audit_accessevent
    FOR EACH ROW EXECUTE FUNCTION audit_accessevent_chain();
"""

REFUSE = """
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND current_setting('dcr.audit_truncate_allowed', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_accessevent_no_change BEFORE UPDATE OR DELETE ON audit_accessevent
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_accessevent_no_truncate BEFORE TRUNCATE ON audit_accessevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS audit_accessevent_no_truncate ON audit_accessevent;
DROP TRIGGER IF EXISTS audit_accessevent_no_change ON audit_accessevent;
DROP TRIGGER IF EXISTS audit_accessevent_chain ON audit_accessevent;
DROP FUNCTION IF EXISTS audit_refuse_change();
DROP FUNCTION IF EXISTS audit_accessevent_chain();
DROP FUNCTION IF EXISTS audit_accessevent_payload(audit_accessevent);
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_initial")]

    operations = [migrations.RunSQL(PAYLOAD + CHAIN + REFUSE, DROP)]
