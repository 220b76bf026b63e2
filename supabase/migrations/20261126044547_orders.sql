-- El Rinconcito's confirmed orders, written by the bot's server with the service-role key.
--
-- Runs unchanged on Supabase (`supabase db push`, or pasted in the SQL editor) and on plain
-- PostgreSQL once the roles anon, authenticated and service_role exist.
--
-- The lines live in a jsonb column of the order, not in an order_lines table: an order and its
-- lines are written once, together, and always read together; one row makes the idempotent
-- save a single insert (nothing to leave half-written between two tables), lets PostgREST return
-- a whole order without an embed, and the menu lives in the flow files, not in the database, so
-- a lines table would have no item table to point at anyway.

create table public.orders (
    number          bigint generated always as identity (start with 1001) primary key,
    order_key       text not null,
    status          text not null default 'nuevo',
    customer        text not null,
    name            text not null,
    contact         text not null,
    lines           jsonb not null,
    subtotal        integer not null,
    delivery_fee    integer not null default 0,
    total           integer not null,
    fulfilment      text not null,
    address         text,
    location_lat    double precision,
    location_lon    double precision,
    location_label  text,
    payment         text not null,
    placed_at       timestamptz not null,
    extra           jsonb not null default '{}'::jsonb,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),

    -- The conversation's key: a retried webhook must never make a second order.
    constraint orders_order_key_key unique (order_key),
    constraint orders_status_check
        check (status in ('nuevo', 'preparando', 'listo', 'entregado', 'cancelado')),
    constraint orders_fulfilment_check check (fulfilment in ('pickup', 'delivery')),
    -- Money is whole pesos, never negative, and the total is exactly what the customer was told.
    constraint orders_money_check check (subtotal >= 0 and delivery_fee >= 0 and total >= 0),
    constraint orders_total_check check (total = subtotal + delivery_fee),
    constraint orders_customer_check check (customer ~ '^\+[1-9][0-9]{6,14}$'),
    constraint orders_lines_check
        check (case when jsonb_typeof(lines) = 'array' then jsonb_array_length(lines) > 0 else false end),
    constraint orders_extra_check check (jsonb_typeof(extra) = 'object'),
    constraint orders_location_check check (
        (location_lat is null) = (location_lon is null)
        and (location_lat is null or location_lat between -90 and 90)
        and (location_lon is null or location_lon between -180 and 180)
    )
);

comment on table public.orders is 'Pedidos confirmados por WhatsApp; los escribe el servidor del bot con la llave service_role.';

create index orders_created_at_idx on public.orders (created_at);
create index orders_status_idx on public.orders (status);
-- "#pedidos": today's orders still in the kitchen, a small part of the table.
create index orders_open_placed_at_idx on public.orders (placed_at)
    where status in ('nuevo', 'preparando', 'listo');

create or replace function public.orders_touch_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    new.updated_at := now();
    return new;
end;
$$;

create trigger orders_touch_updated_at
    before update on public.orders
    for each row execute function public.orders_touch_updated_at();

-- Row-level security on, and no policy at all: the anon and authenticated roles (the keys a
-- browser or app would hold) see no row and can change none. The server uses the service-role
-- key, which bypasses RLS. The grants are taken away too, so those keys get a clear refusal.
alter table public.orders enable row level security;
revoke all on table public.orders from anon, authenticated;
grant select, insert, update on table public.orders to service_role;

-- Saves an order once per order_key and returns the stored row, new or not. The look-up first
-- spares a sequence number on every retry; "on conflict do nothing" settles two saves racing with
-- the same key (the second waits for the first and then reads its row).
create or replace function public.place_order(payload jsonb)
returns public.orders
language plpgsql
set search_path = ''
as $$
declare
    placed public.orders;
begin
    select * into placed from public.orders where order_key = payload->>'order_key';
    if found then
        return placed;
    end if;

    insert into public.orders (
        order_key, customer, name, contact, lines, subtotal, delivery_fee, total, fulfilment,
        address, location_lat, location_lon, location_label, payment, placed_at, extra
    ) values (
        payload->>'order_key',
        payload->>'customer',
        payload->>'name',
        payload->>'contact',
        payload->'lines',
        (payload->>'subtotal')::integer,
        (payload->>'delivery_fee')::integer,
        (payload->>'total')::integer,
        payload->>'fulfilment',
        payload->>'address',
        (payload->>'location_lat')::double precision,
        (payload->>'location_lon')::double precision,
        payload->>'location_label',
        payload->>'payment',
        (payload->>'placed_at')::timestamptz,
        coalesce(payload->'extra', '{}'::jsonb)
    )
    on conflict (order_key) do nothing
    returning * into placed;

    if not found then
        select * into placed from public.orders where order_key = payload->>'order_key';
    end if;
    return placed;
end;
$$;

revoke execute on function public.place_order(jsonb) from public, anon, authenticated;
grant execute on function public.place_order(jsonb) to service_role;
revoke execute on function public.orders_touch_updated_at() from public, anon, authenticated;
