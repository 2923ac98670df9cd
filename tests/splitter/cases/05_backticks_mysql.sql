-- profile: mysql
CREATE TABLE `back;ticked` (`a``;b` INT, `c'd` INT);
SELECT `a``;b`, `c'd` FROM `back;ticked`;
