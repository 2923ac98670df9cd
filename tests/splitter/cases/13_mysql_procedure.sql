-- profile: mysql
CREATE DEFINER=`admin`@`%` PROCEDURE bump(IN n INT)
BEGIN
    DECLARE i INT DEFAULT 0;
    IF n > 0 THEN
        SET i = n;
    ELSEIF n < 0 THEN
        SET i = -n;
    END IF;
    counting: WHILE i > 0 DO
        SET i = i - 1;
    END WHILE counting;
    BEGIN
        DECLARE EXIT HANDLER FOR SQLEXCEPTION SELECT 'failed;';
        CASE i
            WHEN 0 THEN SELECT 'zero';
            ELSE SELECT 'other';
        END CASE;
    END;
    REPEAT SET i = i + 1; UNTIL i > 3 END REPEAT;
END;

CALL bump(3);
