-- profile: postgres
SELECT $$ body; with 'quotes' and ; $$;
DO $fn$ BEGIN PERFORM $$ inner; $$; END $fn$;
SELECT $1, a$b$ FROM t$x;
SELECT $_tag9$ ;$other$; $_tag9$;
