-- The prediction table: the newest sheet of every active company (its
-- CI01 status ISACTIVE = 'Y') that is not a user at the as-of date.
CREATE TABLE prediction AS
SELECT f.* FROM features f
JOIN CI01 c ON c.REGNUMBER = f.REGNUMBER
JOIN LULQ01 q ON q.CODE = c.COMPANYSTATUS
WHERE q.ISACTIVE = 'Y'
  AND f.USERDATE IS NULL
  AND f.ACCOUNTSDATE = (SELECT MAX(a.ACCOUNTSDATE) FROM AC01 a WHERE a.REGNUMBER = f.REGNUMBER)
ORDER BY f.REGNUMBER;
