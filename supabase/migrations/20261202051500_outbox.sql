-- The bot's queue of WhatsApp messages to send (the outbox), next to the orders, so that what is
-- waiting to be sent is as durable as the orders themselves: Render's free Key Value keeps
-- nothing on disk. An order and the notices it causes are written in one transaction
-- (place_order_and_queue). Only the server (service_role) reads or writes it, through the
-- functions below; times are epoch seconds of the service's clock.
--
-- state: 'waiting' (due at `due`), 'retrying' (the same, after a transient failure: brought
-- forward when Twilio answers again), 'done' (sent or given up; the row stays until `keep_until`
-- so the same event is refused). sid/status/error_code: Twilio's message SID and the last status
-- its callbacks reported; a status only moves forward (outbox_rank).

create table public.outbox (
    id          text primary key,
    payload     text not null,
    due         double precision not null,
    state       text not null default 'waiting',
    sid         text,
    status      text,
    error_code  integer,
    keep_until  double precision,
    constraint outbox_sid_key unique (sid),
    constraint outbox_state_check check (state in ('waiting', 'retrying', 'done'))
);

comment on table public.outbox is 'Mensajes de WhatsApp por enviar (y los enviados, unos días); los escribe el servidor del bot.';

create index outbox_due_idx on public.outbox (state, due);

alter table public.outbox enable row level security;
revoke all on table public.outbox from anon, authenticated;
grant select, insert, update, delete on table public.outbox to service_role;

-- Twilio's statuses ranked: delivered then a late "sent" stays delivered; failed and undelivered
-- are final. The same ranks as engine/model/jobs.py (DELIVERY_STATUSES).
create or replace function public.outbox_rank(message_status text)
returns integer
language sql
immutable
set search_path = ''
as $$
    select case message_status
        when 'queued' then 0 when 'sending' then 1 when 'sent' then 2
        when 'failed' then 3 when 'undelivered' then 3
        when 'delivered' then 4 when 'read' then 5
    end
$$;

-- An order and its notices, in one transaction: `jobs` is a JSON array of {"id", "payload"};
-- `slot` in a payload becomes the order's number. A job id already queued or sent is left alone.
create or replace function public.place_order_and_queue(payload jsonb, jobs jsonb, due double precision, slot text)
returns public.orders
language plpgsql
set search_path = ''
as $$
declare
    placed public.orders;
begin
    placed := public.place_order(payload);
    insert into public.outbox (id, payload, due)
    select job->>'id', replace(job->>'payload', slot, placed.number::text), due
    from jsonb_array_elements(jobs) as job
    on conflict (id) do nothing;
    return placed;
end;
$$;

create or replace function public.outbox_add(job_id text, job_payload text, job_due double precision, at_time double precision)
returns boolean
language plpgsql
set search_path = ''
as $$
declare
    added integer;
begin
    delete from public.outbox where id = job_id and state = 'done' and keep_until <= at_time;
    insert into public.outbox (id, payload, due) values (job_id, job_payload, job_due) on conflict (id) do nothing;
    get diagnostics added = row_count;
    return added = 1;
end;
$$;

-- Due jobs, oldest first, each hidden for `lease` seconds; two callers never get the same job
-- (skip locked: a job another caller is claiming is left to it). A claimed job is in flight, no
-- longer 'retrying', so outbox_hurry never hands it to a second caller.
create or replace function public.outbox_claim(at_time double precision, lease double precision, max_jobs integer)
returns table (job_id text, job_payload text)
language sql
set search_path = ''
as $$
    with picked as (
        select o.id from public.outbox as o
        where o.state <> 'done' and o.due <= at_time
        order by o.due, o.id
        limit max_jobs
        for update skip locked
    )
    update public.outbox as o set due = at_time + lease, state = 'waiting'
    from picked where o.id = picked.id
    returning o.id, o.payload
$$;

create or replace function public.outbox_reschedule(job_id text, job_payload text, job_due double precision, retrying boolean)
returns void
language sql
set search_path = ''
as $$
    update public.outbox
    set payload = job_payload, due = job_due, state = case when retrying then 'retrying' else 'waiting' end
    where id = job_id and state <> 'done'
$$;

create or replace function public.outbox_finish(job_id text, job_sid text, kept_until double precision, at_time double precision)
returns void
language plpgsql
set search_path = ''
as $$
begin
    insert into public.outbox as o (id, payload, due, state, sid, status, keep_until)
    values (job_id, '', 0, 'done', job_sid, case when job_sid is null then null else 'queued' end, kept_until)
    on conflict (id) do update
    set state = 'done', sid = excluded.sid, status = excluded.status, error_code = null, keep_until = excluded.keep_until;
    delete from public.outbox where state = 'done' and keep_until <= at_time;
end;
$$;

create or replace function public.outbox_wake(at_time double precision)
returns void
language sql
set search_path = ''
as $$
    update public.outbox set due = at_time where state <> 'done' and due > at_time
$$;

-- The jobs waiting after a transient failure made due now (the `max_jobs` due soonest; null: all).
create or replace function public.outbox_hurry(at_time double precision, max_jobs integer)
returns setof text
language sql
set search_path = ''
as $$
    with picked as (
        select o.id from public.outbox as o
        where o.state = 'retrying' and o.due > at_time
        order by o.due, o.id
        limit max_jobs
        for update skip locked
    )
    update public.outbox as o set due = at_time from picked where o.id = picked.id returning o.id
$$;

create or replace function public.outbox_pending()
returns bigint
language sql
stable
set search_path = ''
as $$
    select count(*) from public.outbox where state <> 'done'
$$;

-- Records a status callback: the message's row (with the status it had, and whether the new one
-- moved it forward and was recorded), none for an unknown or old SID.
create or replace function public.outbox_track(job_sid text, new_status text, new_code integer)
returns table (job_id text, job_payload text, before text, moved boolean)
language plpgsql
set search_path = ''
as $$
declare
    found_row public.outbox;
    forward boolean;
begin
    select * into found_row from public.outbox where sid = job_sid for update;
    if not found then
        return;
    end if;
    forward := coalesce(public.outbox_rank(new_status) > coalesce(public.outbox_rank(found_row.status), -1), false);
    if forward then
        update public.outbox set status = new_status, error_code = new_code where sid = job_sid;
    end if;
    return query select found_row.id, found_row.payload, found_row.status, forward;
end;
$$;

-- Sends a job again (a template instead of the text, or later): its old SID is forgotten.
create or replace function public.outbox_reopen(job_id text, job_payload text, job_due double precision)
returns boolean
language plpgsql
set search_path = ''
as $$
declare
    changed integer;
begin
    update public.outbox
    set payload = job_payload, due = job_due, state = 'waiting', sid = null, status = null, error_code = null,
        keep_until = null
    where id = job_id;
    get diagnostics changed = row_count;
    return changed = 1;
end;
$$;

do $$
declare
    fn text;
begin
    foreach fn in array array[
        'outbox_rank(text)',
        'place_order_and_queue(jsonb, jsonb, double precision, text)',
        'outbox_add(text, text, double precision, double precision)',
        'outbox_claim(double precision, double precision, integer)',
        'outbox_reschedule(text, text, double precision, boolean)',
        'outbox_finish(text, text, double precision, double precision)',
        'outbox_wake(double precision)',
        'outbox_hurry(double precision, integer)',
        'outbox_pending()',
        'outbox_track(text, text, integer)',
        'outbox_reopen(text, text, double precision)'
    ] loop
        execute format('revoke execute on function public.%s from public, anon, authenticated', fn);
        execute format('grant execute on function public.%s to service_role', fn);
    end loop;
end;
$$;
