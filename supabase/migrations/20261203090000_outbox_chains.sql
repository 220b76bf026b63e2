-- Chains in the outbox: messages that must go out one after another, in the order they were
-- queued (engine/model/jobs.py, Job.chain). A turn with buttons is the customer's chain: its texts
-- and the question with the buttons, and the turns queued after it, so a later message never
-- overtakes an earlier one, whichever claim batch or instance takes it. A job of a chain is
-- claimed only while it is the first of its chain that is not done: a claimed job is not done
-- until it is finished, so nothing later in its chain is claimed meanwhile, by anyone.
--
-- chain: '' for none. seq: the order jobs were added in (rows from before this migration are
-- numbered in no particular order; none of them has a chain).

alter table public.outbox add column chain text not null default '';
alter table public.outbox add column seq bigint generated always as identity;

create index outbox_chain_idx on public.outbox (chain, seq) where chain <> '';

-- outbox_add takes the job's chain (the old four-argument function is replaced, not overloaded:
-- PostgREST must find one function for the named arguments).
drop function public.outbox_add(text, text, double precision, double precision);

create function public.outbox_add(job_id text, job_payload text, job_due double precision, at_time double precision,
                                  job_chain text default '')
returns boolean
language plpgsql
set search_path = ''
as $$
declare
    added integer;
begin
    delete from public.outbox where id = job_id and state = 'done' and keep_until <= at_time;
    insert into public.outbox (id, payload, due, chain) values (job_id, job_payload, job_due, job_chain)
    on conflict (id) do nothing;
    get diagnostics added = row_count;
    return added = 1;
end;
$$;

-- An order and its notices, in one transaction: `jobs` is a JSON array of {"id", "payload",
-- "chain"} ("chain" may be missing: none).
create or replace function public.place_order_and_queue(payload jsonb, jobs jsonb, due double precision, slot text)
returns public.orders
language plpgsql
set search_path = ''
as $$
declare
    placed public.orders;
begin
    placed := public.place_order(payload);
    insert into public.outbox (id, payload, due, chain)
    select job->>'id', replace(job->>'payload', slot, placed.number::text), due, coalesce(job->>'chain', '')
    from jsonb_array_elements(jobs) with ordinality as listed(job, n)
    order by n
    on conflict (id) do nothing;
    return placed;
end;
$$;

-- Due jobs, oldest first, each hidden for `lease` seconds; two callers never get the same job
-- (skip locked), and a job of a chain only while every job before it in its chain is done. The
-- result has changed (job_chain), so the function is made again.
drop function public.outbox_claim(double precision, double precision, integer);

create function public.outbox_claim(at_time double precision, lease double precision, max_jobs integer)
returns table (job_id text, job_payload text, job_chain text)
language sql
set search_path = ''
as $$
    with picked as (
        select o.id from public.outbox as o
        where o.state <> 'done' and o.due <= at_time
          and (o.chain = '' or not exists (
              select 1 from public.outbox as earlier
              where earlier.chain = o.chain and earlier.state <> 'done' and earlier.seq < o.seq
          ))
        order by o.due, o.seq
        limit max_jobs
        for update of o skip locked
    )
    update public.outbox as o set due = at_time + lease, state = 'waiting'
    from picked where o.id = picked.id
    returning o.id, o.payload, o.chain
$$;

do $$
declare
    fn text;
begin
    foreach fn in array array[
        'outbox_add(text, text, double precision, double precision, text)',
        'outbox_claim(double precision, double precision, integer)',
        'place_order_and_queue(jsonb, jsonb, double precision, text)'
    ] loop
        execute format('revoke execute on function public.%s from public, anon, authenticated', fn);
        execute format('grant execute on function public.%s to service_role', fn);
    end loop;
end;
$$;
