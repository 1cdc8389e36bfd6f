"""Database-enforced ledger invariants (see billing/models.py)."""

from django.db import migrations

SQL = """
CREATE FUNCTION billing_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are immutable: post a reversing transaction instead'
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER billing_posting_immutable BEFORE UPDATE OR DELETE ON billing_posting
    FOR EACH ROW EXECUTE FUNCTION billing_refuse_change();
CREATE TRIGGER billing_journal_immutable BEFORE UPDATE OR DELETE ON billing_journaltransaction
    FOR EACH ROW EXECUTE FUNCTION billing_refuse_change();

CREATE FUNCTION billing_posting_currency() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.currency <> (SELECT currency FROM billing_ledgeraccount WHERE id = NEW.account_id) THEN
        RAISE EXCEPTION 'posting currency % differs from its account''s', NEW.currency
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER billing_posting_currency BEFORE INSERT ON billing_posting
    FOR EACH ROW EXECUTE FUNCTION billing_posting_currency();

-- Checked at commit, once every posting of the transaction is in.
CREATE FUNCTION billing_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unbalanced text;
BEGIN
    SELECT currency INTO unbalanced
    FROM billing_posting
    WHERE transaction_id = NEW.transaction_id
    GROUP BY currency
    HAVING sum(CASE WHEN side = 'debit' THEN amount ELSE -amount END) <> 0
    LIMIT 1;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'journal transaction % does not balance in %', NEW.transaction_id, unbalanced
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER billing_transaction_balanced AFTER INSERT ON billing_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION billing_transaction_balanced();
"""

REVERSE_SQL = """
DROP TRIGGER billing_transaction_balanced ON billing_posting;
DROP FUNCTION billing_transaction_balanced();
DROP TRIGGER billing_posting_currency ON billing_posting;
DROP FUNCTION billing_posting_currency();
DROP TRIGGER billing_journal_immutable ON billing_journaltransaction;
DROP TRIGGER billing_posting_immutable ON billing_posting;
DROP FUNCTION billing_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
