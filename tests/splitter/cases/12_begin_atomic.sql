-- profile: postgres
CREATE FUNCTION add_one(x integer) RETURNS integer
LANGUAGE sql
BEGIN ATOMIC
    SELECT CASE WHEN x IS NULL THEN 0 ELSE x + 1 END;
END;

CREATE PROCEDURE insert_pair(a integer, b integer)
LANGUAGE sql
BEGIN ATOMIC
    INSERT INTO pairs VALUES (a);
    INSERT INTO pairs VALUES (b);
END;

BEGIN;
SELECT 1;
COMMIT;
