-- profile: sqlite
;
SELECT 1;;
;  -- only a comment here ;
/* and here */ ;
SELECT 2;
;
