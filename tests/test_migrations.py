"""supabase/migrations run against the machine's real PostgreSQL, in a database made for this run."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import psycopg
import pytest
from orderkit import delivery_order, make_order
from psycopg import errors
from psycopg.types.json import Jsonb

from engine.model.effects import ORDER_NUMBER_SLOT
from engine.model.jobs import DELIVERY_STATUSES
from engine.model.order import FULFILMENTS, STATUSES, StoredOrder

SERVER = "host=127.0.0.1 port=5432 user=postgres"
MIGRATIONS = Path(__file__).resolve().parent.parent / "supabase" / "migrations"
ROLES = {
    "anon": "nologin nobypassrls",
    "authenticated": "nologin nobypassrls",
    "service_role": "nologin bypassrls",
}
"""What Supabase has before any migration: the service role bypasses row-level security, the
keys a browser holds do not. Plain PostgreSQL needs them made, or set so."""
ROLES_LOCK = 0x52494E43  # an advisory lock of these tests: one run at a time changes the roles


def ensure_roles(admin: psycopg.Connection[Any], roles: dict[str, str]) -> None:
    """Make each role, or give the one the server already has these attributes.

    Roles belong to the whole server, which other runs share: a ``service_role`` made earlier
    without ``BYPASSRLS`` would see no row under RLS, so the attributes are set, not assumed.
    """
    with admin.transaction():
        admin.execute("select pg_advisory_xact_lock(%s)", [ROLES_LOCK])
        for role, options in roles.items():
            exists = admin.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone()
            admin.execute(f"{'alter' if exists else 'create'} role {role} {options}")


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    name = f"rinconcito_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{SERVER} dbname=postgres", autocommit=True) as admin:
        ensure_roles(admin, ROLES)
        admin.execute(f'create database "{name}"')
    try:
        with psycopg.connect(f"{SERVER} dbname={name}", autocommit=True) as db:
            for migration in sorted(MIGRATIONS.glob("*.sql")):
                db.execute(migration.read_text())
        yield f"{SERVER} dbname={name}"
    finally:
        with psycopg.connect(f"{SERVER} dbname=postgres", autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def db(database: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database, autocommit=True) as connection:
        connection.execute("truncate public.orders, public.outbox restart identity")
        yield connection


def insert(db: psycopg.Connection[Any], key: str, **changes: Any) -> int:
    row = {**make_order(key).to_record(), **changes}
    columns = ", ".join(row)
    values = [Jsonb(v) if isinstance(v, (list, dict)) else v for v in row.values()]
    marks = ", ".join(["%s"] * len(row))
    return db.execute(f"insert into public.orders ({columns}) values ({marks}) returning number", values).fetchone()[0]


def place(db: psycopg.Connection[Any], order: Any) -> dict[str, Any]:
    return db.execute("select to_jsonb(public.place_order(%s))", [Jsonb(order.to_record())]).fetchone()[0]


def test_numbers_come_from_a_sequence_starting_at_1001(db):
    assert [insert(db, "a"), insert(db, "b"), insert(db, "c")] == [1001, 1002, 1003]
    with pytest.raises(errors.GeneratedAlways):
        insert(db, "d", number=7)


def test_a_second_order_with_the_same_key_is_refused(db):
    insert(db, "same")
    with pytest.raises(errors.UniqueViolation, match="orders_order_key_key"):
        insert(db, "same")
    assert db.execute("select count(*) from public.orders").fetchone()[0] == 1


@pytest.mark.parametrize(
    "changes, constraint",
    [
        ({"total": 79}, "orders_total_check"),
        ({"delivery_fee": -5, "total": 75}, "orders_money_check"),
        ({"subtotal": -80, "total": -80}, "orders_money_check"),
        ({"fulfilment": "dron"}, "orders_fulfilment_check"),
        ({"status": "perdido"}, "orders_status_check"),
        ({"customer": "5512345678"}, "orders_customer_check"),
        ({"lines": []}, "orders_lines_check"),
        ({"lines": {"taco": 1}}, "orders_lines_check"),
        ({"location_lat": 19.4}, "orders_location_check"),
    ],
)
def test_check_constraints_refuse_impossible_orders(db, changes, constraint):
    with pytest.raises(errors.CheckViolation, match=constraint):
        insert(db, "bad", **changes)


def test_the_table_takes_every_status_and_fulfilment_the_model_knows(db):
    for n, status in enumerate(STATUSES):
        insert(db, f"s{n}", status=status)
    for n, fulfilment in enumerate(FULFILMENTS):
        insert(db, f"f{n}", fulfilment=fulfilment)
    assert db.execute("select count(*) from public.orders").fetchone() == (len(STATUSES) + len(FULFILMENTS),)


def test_updated_at_is_set_by_the_table_on_every_change(db):
    number = insert(db, "k")
    row = db.execute(
        "update public.orders set status = 'listo', updated_at = '2000-01-01Z' where number = %s "
        "returning created_at, updated_at, status",
        [number],
    ).fetchone()
    assert row[1] > row[0] and row[2] == "listo"


def test_row_level_security_is_on_with_no_policy_so_the_anon_key_sees_nothing(db):
    assert db.execute("select relrowsecurity from pg_class where oid = 'public.orders'::regclass").fetchone() == (True,)
    assert db.execute("select count(*) from pg_policies where tablename = 'orders'").fetchone() == (0,)
    insert(db, "private")
    for role in ("anon", "authenticated"):
        with db.transaction(force_rollback=True):
            db.execute(f"set local role {role}")
            with pytest.raises(errors.InsufficientPrivilege):
                db.execute("select * from public.orders")
        with db.transaction(force_rollback=True):
            # Even given the grants Supabase hands out by default, RLS with no policy hides every row.
            db.execute(f"grant select, insert on public.orders to {role}")
            db.execute(f"set local role {role}")
            assert db.execute("select count(*) from public.orders").fetchone() == (0,)
            with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
                insert(db, "sneaky")
    with db.transaction(force_rollback=True):
        db.execute("set local role service_role")
        assert db.execute("select count(*) from public.orders").fetchone() == (1,)


def test_a_role_the_server_already_has_without_bypassrls_is_given_it():
    role = f"rinconcito_role_{uuid.uuid4().hex[:12]}"  # a role of this test's own, not the shared one
    with psycopg.connect(f"{SERVER} dbname=postgres", autocommit=True) as admin:
        admin.execute(f"create role {role} nologin nobypassrls")
        try:
            ensure_roles(admin, {role: ROLES["service_role"]})
            assert admin.execute("select rolbypassrls, rolcanlogin from pg_roles where rolname = %s",
                                 [role]).fetchone() == (True, False)
            ensure_roles(admin, {role: ROLES["anon"]})  # and taken away the same way
            assert admin.execute("select rolbypassrls from pg_roles where rolname = %s", [role]).fetchone() == (False,)
        finally:
            admin.execute(f"drop role if exists {role}")


def connect_as(database: str, role: str) -> psycopg.Connection[Any]:
    """A connection acting as ``role`` from its start, as PostgREST acts for a Supabase key."""
    return psycopg.connect(database, autocommit=True, options=f"-c role={role}")


def test_a_service_role_connection_sees_the_rows_under_rls_and_an_anon_one_does_not(db, database):
    insert(db, "first")
    insert(db, "second")
    # Supabase's default grants, which the migration revokes: RLS alone must still hide the rows.
    db.execute("grant select on public.orders to anon")
    try:
        with connect_as(database, "service_role") as service, connect_as(database, "anon") as anon:
            assert service.execute("select current_user, rolbypassrls from pg_roles where rolname = current_user"
                                   ).fetchone() == ("service_role", True)
            assert service.execute("select order_key from public.orders order by number").fetchall() == [
                ("first",), ("second",)]
            assert anon.execute("select current_user").fetchone() == ("anon",)
            assert anon.execute("select count(*) from public.orders").fetchone() == (0,)
    finally:
        db.execute("revoke select on public.orders from anon")


def test_place_order_saves_once_per_key_and_returns_the_whole_order(db):
    order = delivery_order()
    with db.transaction():
        db.execute("set local role service_role")
        first = place(db, order)
        again = place(db, make_order(order.key, name="Otra persona"))
    assert again == first
    stored = StoredOrder.from_record(first)
    assert (stored.number, stored.status) == (1001, "nuevo")
    # timestamptz keeps the instant, not the offset it was written with.
    assert stored.order.placed_at == order.placed_at
    assert stored.order == order
    assert db.execute("select count(*) from public.orders").fetchone() == (1,)
    assert place(db, make_order("next"))["number"] == 1002  # the retry used up no number


def test_only_the_service_role_may_call_place_order(db):
    for role in ("anon", "authenticated"):
        with db.transaction(force_rollback=True):
            db.execute(f"set local role {role}")
            with pytest.raises(errors.InsufficientPrivilege):
                place(db, make_order())
    assert place(db, make_order())["order_key"] == "k-1001"  # as the table's owner


def test_place_order_racing_with_the_same_key_returns_the_first_order(db, database):
    order = make_order("race")
    with psycopg.connect(database) as first:
        first_row = place(first, order)  # inserted, not yet committed
        result: dict[str, Any] = {}
        second = threading.Thread(target=lambda: result.update(place_in(database, order)))
        second.start()
        wait_until_blocked(db, "place_order")  # the second save now waits on our uncommitted row
        first.commit()
        second.join(timeout=30)
    assert result["number"] == first_row["number"] == 1001
    assert db.execute("select count(*) from public.orders").fetchone() == (1,)


def place_in(database: str, order: Any) -> dict[str, Any]:
    with psycopg.connect(database, autocommit=True) as connection:
        return place(connection, order)


def wait_until_blocked(db: psycopg.Connection[Any], query: str, timeout: float = 10.0) -> None:
    """Poll until another session running ``query`` waits on a lock (an observable state, not a guess)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        blocked = db.execute(
            "select count(*) from pg_stat_activity where datname = current_database() "
            "and wait_event_type = 'Lock' and query like %s",
            [f"%{query}%"],
        ).fetchone()[0]
        if blocked:
            return
        time.sleep(0.01)
    raise AssertionError("the second place_order never waited for the first")


# --- the outbox ---------------------------------------------------------------------------------

def call(db: psycopg.Connection[Any], function: str, *args: Any) -> Any:
    """``select public.<function>(args)`` as the service role, as PostgREST calls it."""
    marks = ", ".join(["%s"] * len(args))
    with db.transaction():
        db.execute("set local role service_role")
        return db.execute(f"select * from public.{function}({marks})", list(args)).fetchall()


def one(db: psycopg.Connection[Any], function: str, *args: Any) -> Any:
    (row,) = call(db, function, *args)
    return row[0]


def test_the_outbox_keeps_the_rules_of_the_service_queues(db):
    assert one(db, "outbox_add", "a", "pa", 1000.0, 1000.0) is True
    assert one(db, "outbox_add", "a", "again", 1000.0, 1000.0) is False  # one event, one message
    for id, due in (("b", 1010.0), ("c", 1030.0)):
        one(db, "outbox_add", id, f"p{id}", due, 1000.0)
    assert call(db, "outbox_claim", 1020.0, 60.0, 10) == [("a", "pa", ""), ("b", "pb", "")]  # due ones, oldest first
    assert call(db, "outbox_claim", 1020.0, 60.0, 10) == []  # hidden while claimed
    call(db, "outbox_reschedule", "a", "pa1", 2000.0, True)
    call(db, "outbox_reschedule", "b", "pb1", 3000.0, True)
    assert call(db, "outbox_hurry", 1021.0, 1) == [("a",)]  # a probe: the one due soonest
    assert call(db, "outbox_claim", 1021.0, 60.0, 10) == [("a", "pa1", "")]
    assert call(db, "outbox_hurry", 1022.0, None) == [("b",)]  # a claimed job is never hurried
    assert one(db, "outbox_pending") == 3
    call(db, "outbox_finish", "a", "SM" + "a" * 32, 1022.0 + 3600, 1022.0)
    assert one(db, "outbox_pending") == 2
    assert one(db, "outbox_add", "a", "pa", 1100.0, 1100.0) is False  # sent: refused while its row lasts
    assert one(db, "outbox_add", "a", "pa", 5000.0, 5000.0) is True  # the mark ran out
    call(db, "outbox_wake", 1023.0)
    assert {row[0] for row in call(db, "outbox_claim", 1023.0, 60.0, 10)} == {"a", "b", "c"}


def test_an_order_and_its_notices_are_written_together(db):
    order = make_order("with-notices")
    # The payload as the outbox writes it (ensure_ascii=False: the slot is in the text as it is).
    jobs = Jsonb([{"id": "order:1", "payload": json.dumps({"body": f"Pedido nuevo #{ORDER_NUMBER_SLOT}"}, ensure_ascii=False)}])
    placed = call(db, "place_order_and_queue", Jsonb(order.to_record()), jobs, 1000.0, ORDER_NUMBER_SLOT)
    again = call(db, "place_order_and_queue", Jsonb(order.to_record()), jobs, 1001.0, ORDER_NUMBER_SLOT)
    assert placed == again and placed[0][0] == 1001
    assert db.execute("select id, payload, due from public.outbox").fetchall() == [
        ("order:1", json.dumps({"body": "Pedido nuevo #1001"}), 1000.0)]
    broken = make_order("broken").to_record() | {"total": 1}  # the order is refused: so is its notice
    with pytest.raises(errors.CheckViolation):
        call(db, "place_order_and_queue", Jsonb(broken), Jsonb([{"id": "order:2", "payload": "x"}]), 1000.0, "#")
    assert db.execute("select count(*) from public.outbox").fetchone() == (1,)
    assert db.execute("select count(*) from public.orders").fetchone() == (1,)


def test_a_message_status_only_moves_forward_and_unknown_sids_are_ignored(db):
    sid, other = "SM" + "1" * 32, "SM" + "2" * 32
    one(db, "outbox_add", "notice", "body", 1000.0, 1000.0)
    call(db, "outbox_claim", 1000.0, 60.0, 10)
    call(db, "outbox_finish", "notice", sid, 9999.0, 1000.0)
    assert call(db, "outbox_track", other, "delivered", None) == []
    assert call(db, "outbox_track", sid, "delivered", None) == [("notice", "body", "queued", True)]
    assert call(db, "outbox_track", sid, "sent", None) == [("notice", "body", "delivered", False)]  # late: stays
    assert call(db, "outbox_track", sid, "delivered", None) == [("notice", "body", "delivered", False)]  # twice
    assert call(db, "outbox_track", sid, "read", None) == [("notice", "body", "delivered", True)]
    assert call(db, "outbox_track", sid, "failed", 30008) == [("notice", "body", "read", False)]
    assert db.execute("select status, error_code from public.outbox").fetchone() == ("read", None)
    assert call(db, "outbox_track", sid, "paused", None) == [("notice", "body", "read", False)]  # no status


def test_the_ranks_are_the_services(db):
    ranks = {status: one(db, "outbox_rank", status) for status in DELIVERY_STATUSES}
    assert ranks == DELIVERY_STATUSES


def test_a_failure_is_recorded_once_and_a_reopened_job_forgets_its_old_message(db):
    sid = "SM" + "3" * 32
    one(db, "outbox_add", "admin", "text", 1000.0, 1000.0)
    call(db, "outbox_claim", 1000.0, 60.0, 10)
    call(db, "outbox_finish", "admin", sid, 9999.0, 1000.0)
    assert call(db, "outbox_track", sid, "failed", 63016) == [("admin", "text", "queued", True)]
    assert call(db, "outbox_track", sid, "undelivered", 63016) == [("admin", "text", "failed", False)]  # no news
    assert db.execute("select error_code from public.outbox").fetchone() == (63016,)
    assert one(db, "outbox_reopen", "admin", "template", 1001.0) is True
    assert call(db, "outbox_track", sid, "delivered", None) == []  # the old message's late callback
    assert call(db, "outbox_claim", 1001.0, 60.0, 10) == [("admin", "template", "")]
    assert one(db, "outbox_reopen", "nobody", "x", 1.0) is False


def test_two_claiming_at_once_never_get_the_same_job(db, database):
    for id in ("first", "second"):
        one(db, "outbox_add", id, id, 1000.0, 1000.0)
    with psycopg.connect(database) as holding:
        holding.execute("set role service_role")
        taken = holding.execute("select * from public.outbox_claim(1000, 60, 1)").fetchall()  # not committed
        other = call(db, "outbox_claim", 1000.0, 60.0, 10)  # skips the locked row instead of waiting
        holding.commit()
    assert taken == [("first", "first", "")] and other == [("second", "second", "")]


def test_a_chain_goes_one_job_at_a_time_in_the_order_it_was_added(db, database):
    for n in range(1, 12):  # ids that sort otherwise as text, due before the rest
        one(db, "outbox_add", f"turn:a#{n}", f"a{n}", 990.0 + n / 100, 1000.0, "chat:ana")
    one(db, "outbox_add", "notice", "n", 1000.0, 1000.0)
    # The jobs waiting behind their chain do not use up the limit.
    assert sorted(call(db, "outbox_claim", 1000.0, 60.0, 2)) == [("notice", "n", ""), ("turn:a#1", "a1", "chat:ana")]
    assert call(db, "outbox_claim", 1000.0, 60.0, 10) == []  # the chain's first is in flight
    call(db, "outbox_finish", "notice", None, 9999.0, 1000.0)
    call(db, "outbox_reschedule", "turn:a#1", "a1 again", 1030.0, True)  # failed: the rest wait too
    assert call(db, "outbox_claim", 1020.0, 60.0, 10) == []
    assert call(db, "outbox_claim", 1030.0, 60.0, 10) == [("turn:a#1", "a1 again", "chat:ana")]
    with psycopg.connect(database) as holding:  # another instance claims while this one's claim is open
        holding.execute("set role service_role")
        call(db, "outbox_finish", "turn:a#1", None, 9999.0, 1031.0)
        taken = holding.execute("select * from public.outbox_claim(1031, 60, 10)").fetchall()  # not committed
        assert call(db, "outbox_claim", 1031.0, 60.0, 10) == []  # never the one after it
        holding.commit()
    assert taken == [("turn:a#2", "a2", "chat:ana")]
    order = []
    call(db, "outbox_finish", "turn:a#2", None, 9999.0, 1032.0)
    while claimed := call(db, "outbox_claim", 1200.0, 60.0, 10):
        [(job, _, _)] = claimed
        order.append(job)
        call(db, "outbox_finish", job, None, 9999.0, 1200.0)
    assert order == [f"turn:a#{n}" for n in range(3, 12)]


def test_an_orders_notices_keep_their_chain(db):
    jobs = Jsonb([{"id": f"order:1#{n}", "payload": f"part {n}", "chain": "order:1"} for n in range(1, 4)])
    call(db, "place_order_and_queue", Jsonb(make_order("long-notice").to_record()), jobs, 1000.0, ORDER_NUMBER_SLOT)
    assert call(db, "outbox_claim", 1000.0, 60.0, 10) == [("order:1#1", "part 1", "order:1")]


def test_only_the_service_role_reaches_the_outbox(db):
    one(db, "outbox_add", "private", "x", 1000.0, 1000.0)
    for role in ("anon", "authenticated"):
        with db.transaction(force_rollback=True):
            db.execute(f"set local role {role}")
            with pytest.raises(errors.InsufficientPrivilege):
                db.execute("select * from public.outbox")
        with db.transaction(force_rollback=True):
            db.execute(f"set local role {role}")
            with pytest.raises(errors.InsufficientPrivilege):
                db.execute("select public.outbox_pending()")
