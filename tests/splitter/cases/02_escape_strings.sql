-- profile: postgres
INSERT INTO t (s) VALUES (E'\'; still the string'), (e'a\\'), (E'x''; y');
SELECT 'plain \'; SELECT 'next statement';
SELECT TABLE'x;';
