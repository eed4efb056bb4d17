-- A company becomes a user on the creation date of its first charge with an
-- invoice-finance provider among its persons entitled (a satisfied charge
-- still counts).
CREATE TABLE invoice_finance_charges AS
SELECT DISTINCT p.CHARGEID
FROM MR02 p
JOIN lender l ON l.NAME = normalise_lender(p.PERSONENTITLED)
WHERE l.IS_INVOICE_FINANCE = 1;

CREATE TABLE users AS
SELECT m.REGNUMBER, MIN(m.CREATEDDATE) AS USERDATE
FROM MR01 m
JOIN invoice_finance_charges c ON c.CHARGEID = m.CHARGEID
GROUP BY m.REGNUMBER;
