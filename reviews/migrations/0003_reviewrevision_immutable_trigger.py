"""Review revisions are append-only (SPEC §4): the database refuses any UPDATE of one, below the
Python guards (`ReviewRevision.save()` and its QuerySet's `update()`).

DELETE is not refused here: revisions go only with their review, which the app never deletes
(it soft-deletes), while deleting a whole project from Django admin must still cascade.
"""

from django.db import migrations

PG_INSTALL = """
CREATE FUNCTION reviews_reviewrevision_refuse_update() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'review revisions are append-only: UPDATE of revision % refused', OLD.id
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER reviews_reviewrevision_no_update
    BEFORE UPDATE ON reviews_reviewrevision
    FOR EACH ROW EXECUTE FUNCTION reviews_reviewrevision_refuse_update();
"""

PG_REMOVE = """
DROP TRIGGER IF EXISTS reviews_reviewrevision_no_update ON reviews_reviewrevision;
DROP FUNCTION IF EXISTS reviews_reviewrevision_refuse_update();
"""

SQLITE_INSTALL = """
CREATE TRIGGER reviews_reviewrevision_no_update
BEFORE UPDATE ON reviews_reviewrevision
BEGIN
    SELECT RAISE(ABORT, 'review revisions are append-only: UPDATE refused');
END;
"""

SQLITE_REMOVE = "DROP TRIGGER IF EXISTS reviews_reviewrevision_no_update;"


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
    dependencies = [("reviews", "0002_scorer_fk_indexes_covered")]

    operations = [migrations.RunPython(install, remove)]
