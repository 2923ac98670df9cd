-- profile: mysql
-- keel: delimiter=//
CREATE PROCEDURE p()
BEGIN
    SELECT 'a // not a delimiter';
    SELECT 1; -- a ; // comment
END //
CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW SET NEW.x = 1//

SELECT 2
