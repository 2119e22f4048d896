-- Fill an EMPTY, migrated leadops database with :n leads for bench/lead_list.py (PostgreSQL only).
-- Raw SQL on purpose: a million leads through the lifecycle service would take an hour; this takes
-- a minute. The stage log is not written because the lead list never reads it.
BEGIN;
INSERT INTO leads_team (name, time_zone, workday_start, workday_end, workdays)
VALUES ('Bench East', 'UTC', '09:00', '17:00', '12345'), ('Bench West', 'UTC', '09:00', '17:00', '12345');

INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
SELECT '!', false, 'bench' || i, 'Bench', 'User' || i, 'bench' || i || '@example.com', false, true, now()
FROM generate_series(1, 42) AS i;

-- bench1 and bench2 manage East and West; bench3..bench42 are reps, alternating teams.
INSERT INTO leads_profile (user_id, team_id, territory, capacity, is_available)
SELECT u.id,
       (SELECT id FROM leads_team WHERE name = CASE WHEN (substr(u.username, 6)::int % 2) = 1 THEN 'Bench East' ELSE 'Bench West' END),
       '', 200, true
FROM auth_user u WHERE u.username LIKE 'bench%';

INSERT INTO auth_user_groups (user_id, group_id)
SELECT u.id, g.id FROM auth_user u, auth_group g
WHERE u.username LIKE 'bench%'
  AND g.name = CASE WHEN u.username IN ('bench1', 'bench2') THEN 'Sales Manager' ELSE 'Sales Rep' END;

INSERT INTO leads_campaign (name, kind, cost, starts_on, ends_on, created_at)
SELECT 'Bench campaign ' || i, 'webinar', 1000, NULL, NULL, now() FROM generate_series(1, 50) AS i;
COMMIT;

BEGIN;
WITH reps AS (SELECT array_agg(id ORDER BY id) AS ids FROM auth_user WHERE username LIKE 'bench%' AND username NOT IN ('bench1', 'bench2')),
     camps AS (SELECT array_agg(id ORDER BY id) AS ids FROM leads_campaign WHERE name LIKE 'Bench campaign %'),
     firsts AS (SELECT ARRAY['Anna','Ben','Carla','David','Emma','Felix','Grace','Hugo','Iris','Jonas','Karin','Liam','Mona','Nils','Olga','Paul','Quinn','Rosa','Sven','Tina','Uwe','Vera','Walt','Xena','Yusuf','Zoe'] AS a),
     lasts AS (SELECT ARRAY['Smith','Schmidt','Garcia','Muller','Rossi','Dubois','Novak','Kowalski','Jensen','Silva','Nguyen','Kim','Patel','Okafor','Larsen','Moreau','Bauer','Costa','Horvat','Ivanova','Tanaka','Olsen','Fischer','Weber','Young','Zimmer'] AS a),
     comps AS (SELECT ARRAY['Acme','Globex','Initech','Umbrella','Hooli','Vandelay','Stark','Wayne','Tyrell','Cyberdyne','Soylent','Wonka','Gringotts','Oscorp','Aperture','Massive'] AS a),
     stages AS (SELECT ARRAY['inquiry','inquiry','inquiry','mql','mql','sal','sql','opportunity','won','lost','nurture','nurture','disqualified'] AS a)
INSERT INTO leads_lead (first_name, last_name, email, phone, title, company_name, website, company_domain, employees,
    size_band, industry, country, region, budget, authority, need, timeframe, source_channel, stage, stage_entered_at,
    score, grade, created_at, updated_at, sales_touches, nurture_touches, extra, campaign_id, owner_id)
SELECT f.a[1 + (i * 7) % 26],
       l.a[1 + (i * 13 / 7) % 26] || CASE WHEN i % 3 = 0 THEN '' ELSE '-' || (i % 997) END,
       'lead' || i || '@' || lower(c.a[1 + i % 16]) || (i % 101) || '.example',
       '', 'Buyer', c.a[1 + (i / 3) % 16] || ' ' || (i % 5003), '', lower(c.a[1 + i % 16]) || '.example', 50,
       '51-200', 'Software', 'DE', '', NULL, '', '', '', 'inbound',
       s.a[1 + (i * 31) % 13], now() - (i || ' seconds')::interval,
       (i * 17) % 100, (ARRAY['A','B','C','D',''])[1 + (i * 11) % 5],
       now() - ((1000000 - i) || ' seconds')::interval, now(), 0, 0, '{}'::jsonb,
       CASE WHEN i % 4 = 0 THEN NULL ELSE cm.ids[1 + i % 50] END,
       CASE WHEN i % 10 < 3 THEN NULL ELSE r.ids[1 + ((i::bigint * 7919) % 40)::int] END
FROM generate_series(1, :n) AS i, reps r, camps cm, firsts f, lasts l, comps c, stages s;
COMMIT;
ANALYZE leads_lead;
