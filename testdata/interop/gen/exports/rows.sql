-- The purchase rows every export in this directory holds: 200 orders of
-- 100 customers, with the text that trips readers (delimiters, quotes, line
-- ends, tabs, backslashes, a literal \N, non-ASCII), NULLs and empty text.
SET TimeZone = 'UTC';
CREATE TABLE purchases AS
SELECT i AS order_id,
  1000000 + i % 100 AS customer_id,
  'user' || i % 100 || '@example.com' AS email,
  CASE WHEN i % 7 = 0 THEN NULL WHEN i % 3 = 0 THEN 'gold' ELSE 'silver' END AS tier,
  CASE WHEN i % 5 = 0 THEN NULL ELSE i % 2 = 0 END AS opted_in,
  round(i * 1.37 + 0.5, 2)::numeric(10,2) AS amount,
  timestamptz '2025-01-02 03:04:05+00' + i * interval '61 minutes 7 seconds' AS ordered_at,
  CASE i % 10 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN 'say "hi", ok'
    WHEN 3 THEN 'two' || chr(10) || 'lines' WHEN 4 THEN 'tab' || chr(9) || 'inside'
    WHEN 5 THEN 'back\slash \N text' WHEN 6 THEN '\N' WHEN 7 THEN 'İstanbul ŞŞ 東京 ✓'
    WHEN 8 THEN 'semi;colon|pipe' ELSE 'plain ' || i END AS note,
  (ARRAY['TR','US','DE'])[i % 3 + 1] AS country
FROM generate_series(0, 199) AS t(i);
