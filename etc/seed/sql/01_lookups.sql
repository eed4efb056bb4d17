-- Lookups the later queries join to (DATA.md, "Decisions").

-- Lender names as the charges register writes them vary; both sides are
-- normalised (normalise_lender) before they meet.
CREATE TABLE lender AS
SELECT normalise_lender(NAME) AS NAME, MAX(CAST(IS_INVOICE_FINANCE AS INTEGER)) AS IS_INVOICE_FINANCE
FROM person_entitled_adjusted
GROUP BY 1;

-- Rare company types are grouped as OTHER.
CREATE TABLE company_type_group AS
SELECT CODE, CASE WHEN CODE IN (SELECT CODE FROM other_company_types) THEN 'OTHER' ELSE CODE END AS GRP
FROM LUCT01;

-- A missing or dormant (99999) SIC code has section UNKNOWN.
CREATE TABLE sic_section AS
SELECT CODE, CASE WHEN SECTION IS NULL OR SECTION = '' OR CODE = '99999' THEN 'UNKNOWN' ELSE SECTION END AS SECTION
FROM LUSC01;
