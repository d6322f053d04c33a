-- rows.sql for MariaDB: the same 200 purchase rows.
SET time_zone = '+00:00';
CREATE TABLE purchases AS
SELECT seq AS order_id,
  1000000 + seq % 100 AS customer_id,
  CONCAT('user', seq % 100, '@example.com') AS email,
  CASE WHEN seq % 7 = 0 THEN NULL WHEN seq % 3 = 0 THEN 'gold' ELSE 'silver' END AS tier,
  CASE WHEN seq % 5 = 0 THEN NULL ELSE seq % 2 = 0 END AS opted_in,
  CAST(ROUND(seq * 1.37 + 0.5, 2) AS DECIMAL(10,2)) AS amount,
  TIMESTAMP '2025-01-02 03:04:05' + INTERVAL seq * 3667 SECOND AS ordered_at,
  CASE seq % 10 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN 'say "hi", ok'
    WHEN 3 THEN CONCAT('two', CHAR(10 USING utf8mb4), 'lines')
    WHEN 4 THEN CONCAT('tab', CHAR(9 USING utf8mb4), 'inside')
    WHEN 5 THEN 'back\\slash \\N text' WHEN 6 THEN '\\N' WHEN 7 THEN 'İstanbul ŞŞ 東京 ✓'
    WHEN 8 THEN 'semi;colon|pipe' ELSE CONCAT('plain ', seq) END AS note,
  ELT(seq % 3 + 1, 'TR', 'US', 'DE') AS country
FROM seq_0_to_199;
