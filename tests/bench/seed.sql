-- Benchmark offices, made through the admin functions as an administrator
-- would. psql -v offices=N [-v roles=kiosk,counter] -At -F ' ' -f seed.sql prints the tokens file:
-- "office role counter token" ("-" for no counter), one connection's
-- credentials a line. Offices are b001, b002, ...; each has queues S F P A,
-- counters 1..8 serving 2 or 3 of them, and 2 kiosk, 8 counter and 2
-- display tokens.
\set ON_ERROR_STOP 1
-- -v roles=kiosk: tokens of those roles only (creating a token hashes it,
-- the slow part of seeding 1,000 offices).
\if :{?roles}
\else
\set roles 'kiosk,counter,display'
\endif
\o /dev/null
-- Offices straight into the table (its CHECKs apply): add_office looks the
-- zone up in pg_timezone_names, about 0.1 s an office, 100 s for 1,000.
INSERT INTO kolapp.offices (code, name, timezone)
SELECT format('b%s', lpad(g::text, greatest(3, length(g::text)), '0')),
       format('Benchmark office %s', g), 'Europe/Stockholm'
  FROM generate_series(1, :offices) g
 ORDER BY g;
SELECT kolapp.add_queue(format('b%s', lpad(g::text, greatest(3, length(g::text)), '0')), q.code, q.name)
  FROM generate_series(1, :offices) g,
       (VALUES (1, 'S', 'Tax agency'), (2, 'F', 'Social insurance'),
               (3, 'P', 'Pensions'), (4, 'A', 'Employment service')) q(n, code, name)
 ORDER BY g, q.n;
SELECT kolapp.add_counter(format('b%s', lpad(g::text, greatest(3, length(g::text)), '0')), c.name, c.queues)
  FROM generate_series(1, :offices) g,
       (VALUES ('1', ARRAY['S', 'F']), ('2', ARRAY['S', 'P']),
               ('3', ARRAY['F', 'A', 'S']), ('4', ARRAY['P', 'A']),
               ('5', ARRAY['A', 'S', 'F']), ('6', ARRAY['S', 'F', 'P']),
               ('7', ARRAY['F', 'P']), ('8', ARRAY['P', 'A', 'S'])) c(name, queues)
 ORDER BY g, c.name;
\o
SELECT o, r, coalesce(c, '-'), kolapp.create_token(r, o, c)
  FROM (SELECT format('b%s', lpad(g::text, greatest(3, length(g::text)), '0')) AS o, g FROM generate_series(1, :offices) g) offs,
       LATERAL (VALUES ('kiosk', NULL, 1), ('kiosk', NULL, 2),
                       ('counter', '1', 3), ('counter', '2', 4), ('counter', '3', 5),
                       ('counter', '4', 6), ('counter', '5', 7), ('counter', '6', 8),
                       ('counter', '7', 9), ('counter', '8', 10),
                       ('display', NULL, 11), ('display', NULL, 12)) t(r, c, k)
 WHERE t.r = ANY (string_to_array(:'roles', ','))
 ORDER BY g, k;
