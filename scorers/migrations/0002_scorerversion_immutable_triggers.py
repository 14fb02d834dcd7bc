"""Database guards that make scorer versions immutable (SPEC §3), below any Python code path.

PostgreSQL: UPDATE is always refused. DELETE is refused at commit (a deferred constraint
trigger) unless the version's scorer is gone by then: deleting a version alone fails, while
deleting a whole scorer or project from Django admin (one transaction, versions first) works.
TRUNCATE (the test runner's flush) does not fire row triggers.

SQLite: UPDATE is refused. DELETE is left to the Python guards because SQLite has no deferred
triggers and the test runner flushes tables with DELETE.
"""

from django.db import migrations

PG_INSTALL = """
CREATE FUNCTION scorers_scorerversion_refuse_update() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'scorer versions are immutable: UPDATE of version % refused', OLD.id
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER scorers_scorerversion_no_update
    BEFORE UPDATE ON scorers_scorerversion
    FOR EACH ROW EXECUTE FUNCTION scorers_scorerversion_refuse_update();

CREATE FUNCTION scorers_scorerversion_refuse_orphan_delete() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM scorers_scorer WHERE id = OLD.scorer_id) THEN
        RAISE EXCEPTION 'scorer versions are immutable: DELETE of version % refused (archive the scorer)', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER scorers_scorerversion_no_delete
    AFTER DELETE ON scorers_scorerversion
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION scorers_scorerversion_refuse_orphan_delete();
"""

PG_REMOVE = """
DROP TRIGGER IF EXISTS scorers_scorerversion_no_delete ON scorers_scorerversion;
DROP TRIGGER IF EXISTS scorers_scorerversion_no_update ON scorers_scorerversion;
DROP FUNCTION IF EXISTS scorers_scorerversion_refuse_orphan_delete();
DROP FUNCTION IF EXISTS scorers_scorerversion_refuse_update();
"""

SQLITE_INSTALL = """
CREATE TRIGGER scorers_scorerversion_no_update
BEFORE UPDATE ON scorers_scorerversion
BEGIN
    SELECT RAISE(ABORT, 'scorer versions are immutable: UPDATE refused');
END;
"""

SQLITE_REMOVE = "DROP TRIGGER IF EXISTS scorers_scorerversion_no_update;"


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_INSTALL, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_INSTALL, params=None)


def remove(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_REMOVE, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_REMOVE, params=None)


class Migration(migrations.Migration):
    dependencies = [("scorers", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
