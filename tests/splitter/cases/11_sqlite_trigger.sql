-- profile: sqlite
CREATE TABLE log (id INTEGER PRIMARY KEY, msg TEXT);

CREATE TEMP TRIGGER IF NOT EXISTS log_insert AFTER INSERT ON log
BEGIN
    UPDATE log SET msg = CASE WHEN new.msg IS NULL THEN 'none;' ELSE new.msg END
        WHERE id = new.id;
    INSERT INTO log (msg) SELECT 'audit; ' || new.id WHERE new.msg <> 'audit';
    SELECT CASE new.id WHEN 1 THEN 'one' END;
END;

INSERT INTO log (msg) VALUES ('x');
