-- profile: mysql
CREATE TABLE events (event VARCHAR(10), `function` INT, begin INT);
CREATE VIEW v AS SELECT event, begin FROM events;
SELECT CASE WHEN begin > 0 THEN 'x' END FROM events;
