-- The training table: sheets whose label window has closed by the as-of
-- date; every user company's sheets, and the sheets of a seeded sample of
-- non-user companies, non_users_per_user of them per user company, chosen
-- by fnv_fraction('<seed>:<REGNUMBER>') < the fraction needed.
CREATE VIEW eligible AS
SELECT * FROM features
WHERE date(ACCOUNTSDATE, '+12 months') <= (SELECT value FROM params WHERE name = 'as_of');

CREATE TABLE sample_fraction AS
SELECT MIN(1.0, (SELECT value FROM params WHERE name = 'non_users_per_user')
                * (SELECT COUNT(DISTINCT REGNUMBER) FROM eligible WHERE USERDATE IS NOT NULL) * 1.0
                / MAX(1, (SELECT COUNT(DISTINCT REGNUMBER) FROM eligible WHERE USERDATE IS NULL))) AS FRACTION;

CREATE TABLE training AS
SELECT e.* FROM eligible e
WHERE e.USERDATE IS NOT NULL
   OR fnv_fraction((SELECT value FROM params WHERE name = 'seed') || ':' || e.REGNUMBER)
      < (SELECT FRACTION FROM sample_fraction)
ORDER BY e.REGNUMBER, e.ACCOUNTSDATE;
